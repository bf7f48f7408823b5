//! Extracting a valid W3C `traceparent` + `tracestate` (and an invalid one):
//! spanwright's strict propagators (`spanwright::extract`, the default
//! `tracecontext,baggage`) against the SDK's `TraceContextPropagator` +
//! `BaggagePropagator`, in one run.

use criterion::{Criterion, criterion_group, criterion_main};
use spanwright::opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use spanwright::opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use std::collections::HashMap;
use std::hint::black_box;

fn carrier(traceparent: &str) -> HashMap<String, String> {
    HashMap::from([
        ("traceparent".to_string(), traceparent.to_string()),
        (
            "tracestate".to_string(),
            "vendor=opaque,other=1".to_string(),
        ),
    ])
}

fn extraction(c: &mut Criterion) {
    let sdk = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let cases = [
        (
            "valid",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        (
            "invalid",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        ),
    ];
    let mut group = c.benchmark_group("extract");
    for (name, header) in cases {
        let headers = carrier(header);
        group.bench_function(format!("{name}/spanwright"), |b| {
            b.iter(|| black_box(spanwright::extract(black_box(&headers))))
        });
        group.bench_function(format!("{name}/sdk"), |b| {
            b.iter(|| black_box(sdk.extract(black_box(&headers))))
        });
    }
    group.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
