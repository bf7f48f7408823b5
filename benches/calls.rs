//! One function of `(u64, &str)` recording both arguments, sync and async, and
//! five nested calls, each way a user might instrument it, all in one run.
//! `python3 benches/report.py` turns the results into the table of BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use spanwright::opentelemetry::global;
use spanwright::opentelemetry::trace::TracerProvider as _;
use spanwright::opentelemetry_sdk::trace::Sampler;
use spanwright_benches::*;
use std::hint::black_box;
use tracing_subscriber::layer::SubscriberExt;

const A: u64 = 42;
const B: &str = "resize";

fn telemetry(sampler: Sampler) -> spanwright::Telemetry {
    spanwright::Telemetry::builder()
        .exporter(Discard)
        .sampler(sampler)
        .install()
        .unwrap()
}

fn with_tracing_otel<R>(f: impl FnOnce() -> R) -> R {
    let provider = provider(Sampler::AlwaysOn);
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let result = tracing::subscriber::with_default(subscriber, f);
    let _ = provider.shutdown();
    result
}

struct DiscardReporter;
impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

fn sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(A), black_box(B))));
    group.bench_function("span disabled", |b| {
        b.iter(|| spanwright_span(black_box(A), black_box(B)))
    });
    group.bench_function("tracing, no subscriber", |b| {
        b.iter(|| tracing_instrument(black_box(A), black_box(B)))
    });
    group.bench_function("fastrace, not collecting", |b| {
        b.iter(|| fastrace_trace(black_box(A), black_box(B)))
    });
    // Before any provider is installed: the global no-op provider.
    group.bench_function("OTel idiomatic, no provider", |b| {
        b.iter(|| otel_idiomatic(black_box(A), black_box(B)))
    });

    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        b.iter(|| spanwright_span(black_box(A), black_box(B)))
    });
    // `init` also installed the OTel global provider the idiomatic code uses.
    group.bench_function("OTel idiomatic", |b| {
        b.iter(|| otel_idiomatic(black_box(A), black_box(B)))
    });
    drop(installed);

    let sdk = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&sdk);
    group.bench_function("OTel tuned", |b| {
        b.iter(|| tuned.call(black_box(A), black_box(B)))
    });
    let _ = sdk.shutdown();

    with_tracing_otel(|| {
        group.bench_function("tracing + tracing-opentelemetry", |b| {
            b.iter(|| tracing_instrument(black_box(A), black_box(B)))
        });
    });

    let installed = telemetry(Sampler::AlwaysOff);
    group.bench_function("span dropped by sampler", |b| {
        b.iter(|| spanwright_span(black_box(A), black_box(B)))
    });
    drop(installed);
    let sdk = provider(Sampler::AlwaysOff);
    let tuned = Tuned::new(&sdk);
    group.bench_function("OTel tuned, dropped by sampler", |b| {
        b.iter(|| tuned.call(black_box(A), black_box(B)))
    });
    let _ = sdk.shutdown();

    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
    group.bench_function("fastrace, collecting (root + span)", |b| {
        b.iter(|| {
            let root = fastrace::Span::root("root", fastrace::prelude::SpanContext::random());
            let _parent = root.set_local_parent();
            fastrace_trace(black_box(A), black_box(B))
        })
    });
    group.bench_function("fastrace, root alone", |b| {
        b.iter(|| {
            let root = fastrace::Span::root("root", fastrace::prelude::SpanContext::random());
            let _parent = root.set_local_parent();
            black_box(A)
        })
    });
    fastrace::flush();
    group.finish();
}

fn asynchronous(c: &mut Criterion) {
    let mut group = c.benchmark_group("async");
    group.bench_function("plain", |b| {
        b.iter(|| block_on(plain_async(black_box(A), black_box(B))))
    });
    group.bench_function("span disabled", |b| {
        b.iter(|| block_on(spanwright_async(black_box(A), black_box(B))))
    });
    group.bench_function("tracing, no subscriber", |b| {
        b.iter(|| block_on(tracing_async(black_box(A), black_box(B))))
    });
    group.bench_function("fastrace, not collecting", |b| {
        b.iter(|| block_on(fastrace_async(black_box(A), black_box(B))))
    });
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        b.iter(|| block_on(spanwright_async(black_box(A), black_box(B))))
    });
    drop(installed);
    let sdk = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&sdk);
    group.bench_function("OTel tuned", |b| {
        b.iter(|| block_on(tuned.call_async(black_box(A), black_box(B))))
    });
    let _ = sdk.shutdown();
    with_tracing_otel(|| {
        group.bench_function("tracing + tracing-opentelemetry", |b| {
            b.iter(|| block_on(tracing_async(black_box(A), black_box(B))))
        });
    });
    group.finish();
}

fn nested(c: &mut Criterion) {
    let mut group = c.benchmark_group("nested depth 5");
    group.bench_function("plain", |b| {
        b.iter(|| plain_nested(black_box(A), black_box(B)))
    });
    group.bench_function("span disabled", |b| {
        b.iter(|| spanwright_nested(black_box(A), black_box(B)))
    });
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        b.iter(|| spanwright_nested(black_box(A), black_box(B)))
    });
    drop(installed);
    with_tracing_otel(|| {
        group.bench_function("tracing + tracing-opentelemetry", |b| {
            b.iter(|| tracing_nested(black_box(A), black_box(B)))
        });
    });
    group.finish();
    let _ = global::tracer_provider();
}

fn sizes(_: &mut Criterion) {
    for (case, bytes) in future_sizes() {
        println!("future size: {case}: {bytes} B");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = sizes, sync, asynchronous, nested
}
criterion_main!(benches);
