//! One function of `(u64, &str)` recording both arguments, sync and async, and
//! five nested calls, each way a user might instrument it, all in one run.
//! `python3 benches/report.py` turns the results into the table of BENCHMARKS.md.
//!
//! Every enabled case runs with the same batch queue and batch size (a queue that
//! holds a whole timed case, set on the SDK's processor too) and is checked after
//! its timed loop (if the check fails, the run stops, after criterion has saved
//! that case's figures: discard the run):
//! every span it made must have reached the exporter, or the run stops (a dropped
//! span is cheaper than an exported one and would flatter whoever dropped it).
//! The SDK counts its own drops only in internal logs, which this build compiles
//! out (opentelemetry's `internal-logs` feature is off): hence the check on what
//! the exporter received.

use criterion::{Criterion, criterion_group, criterion_main};
use spanwright::opentelemetry::global;
use spanwright::opentelemetry::trace::TracerProvider as _;
use spanwright::opentelemetry_sdk::trace::Sampler;
use spanwright_benches::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::layer::SubscriberExt;

const A: u64 = 42;
const B: &str = "resize";

/// The batch queue of every enabled case, on both sides: large enough to hold a
/// whole timed case (about a million spans), since at a million spans a second
/// neither batch thread keeps up with a discarding exporter and a smaller queue
/// drops (which `end_checked` would report).
const TIMED_QUEUE: &str = "1048576";

fn timed_queue() {
    // SAFETY: set before the first pipeline of the run starts a thread that
    // could read the environment; nothing reads it concurrently.
    unsafe {
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", TIMED_QUEUE);
        std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", BATCH_SIZE.to_string());
    }
}

fn telemetry(sampler: Sampler) -> spanwright::Telemetry {
    spanwright::Telemetry::builder()
        .exporter(Discard)
        .sampler(sampler)
        .install()
        .unwrap()
}

/// Calls the timed loops made, for the check that nothing was dropped.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// Times `iters` calls of a checked case and counts them once, outside the
/// timed loop (a count per call would add to every enabled case's time).
fn counted<R>(b: &mut criterion::Bencher<'_>, mut call: impl FnMut() -> R) {
    b.iter_custom(|iters| {
        CALLS.fetch_add(iters, Ordering::Relaxed);
        let started = std::time::Instant::now();
        for _ in 0..iters {
            black_box(call());
        }
        started.elapsed()
    });
}

/// Starts a checked case: nothing counted yet.
fn begin_checked() {
    CALLS.store(0, Ordering::Relaxed);
    EXPORTED.store(0, Ordering::Relaxed);
}

/// After a checked case's pipeline has shut down: every span its calls made
/// (`spans_per_call` each) reached the exporter.
fn end_checked(case: &str, spans_per_call: u64) {
    let made = CALLS.load(Ordering::Relaxed) * spans_per_call;
    let exported = EXPORTED.load(Ordering::Relaxed);
    assert_eq!(
        exported,
        made,
        "{case}: {} spans dropped during the timed loop; the comparison is void",
        made.saturating_sub(exported)
    );
}

/// tracing + tracing-opentelemetry, with its defaults or in the configuration
/// its docs recommend for production (thread ids and busy/idle timing off, as
/// spanwright's own `tracing_layer()` sets them).
fn with_tracing_otel<R>(production: bool, f: impl FnOnce() -> R) -> R {
    let provider = provider(Sampler::AlwaysOn);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("bench"))
        .with_threads(!production)
        .with_tracked_inactivity(!production);
    let subscriber = tracing_subscriber::registry().with(layer);
    let result = tracing::subscriber::with_default(subscriber, f);
    let _ = provider.shutdown();
    result
}

const TRACING_OTEL: [(bool, &str); 2] = [
    (false, "tracing + tracing-opentelemetry"),
    (true, "tracing + tracing-opentelemetry, production config"),
];

struct DiscardReporter;
impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

fn sync(c: &mut Criterion) {
    timed_queue();
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

    begin_checked();
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        counted(b, || spanwright_span(black_box(A), black_box(B)))
    });
    let stats = installed.shutdown();
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    end_checked("sync: span sampled", 1);

    begin_checked();
    // Installing also set the OTel global provider the idiomatic code uses.
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("OTel idiomatic", |b| {
        counted(b, || otel_idiomatic(black_box(A), black_box(B)))
    });
    let stats = installed.shutdown();
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    end_checked("sync: OTel idiomatic", 1);

    begin_checked();
    let sdk = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&sdk);
    group.bench_function("OTel tuned", |b| {
        counted(b, || tuned.call(black_box(A), black_box(B)))
    });
    let _ = sdk.shutdown();
    end_checked("sync: OTel tuned", 1);

    for (production, name) in TRACING_OTEL {
        begin_checked();
        with_tracing_otel(production, || {
            group.bench_function(name, |b| {
                counted(b, || tracing_instrument(black_box(A), black_box(B)))
            });
        });
        end_checked(name, 1);
    }

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
    begin_checked();
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        counted(b, || block_on(spanwright_async(black_box(A), black_box(B))))
    });
    let stats = installed.shutdown();
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    end_checked("async: span sampled", 1);
    begin_checked();
    let sdk = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&sdk);
    group.bench_function("OTel tuned", |b| {
        counted(b, || block_on(tuned.call_async(black_box(A), black_box(B))))
    });
    let _ = sdk.shutdown();
    end_checked("async: OTel tuned", 1);
    for (production, name) in TRACING_OTEL {
        begin_checked();
        with_tracing_otel(production, || {
            group.bench_function(name, |b| {
                counted(b, || block_on(tracing_async(black_box(A), black_box(B))))
            });
        });
        end_checked(name, 1);
    }
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
    begin_checked();
    let installed = telemetry(Sampler::AlwaysOn);
    group.bench_function("span sampled", |b| {
        counted(b, || spanwright_nested(black_box(A), black_box(B)))
    });
    let stats = installed.shutdown();
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    end_checked("nested: span sampled", 5);
    for (production, name) in TRACING_OTEL {
        begin_checked();
        with_tracing_otel(production, || {
            group.bench_function(name, |b| {
                counted(b, || tracing_nested(black_box(A), black_box(B)))
            });
        });
        end_checked(name, 5);
    }
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
