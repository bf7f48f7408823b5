//! Runs one case `n` times, for `instructions.sh` to count instructions under
//! callgrind: `instructions <case> <n>`.

use spanwright::opentelemetry_sdk::trace::Sampler;
use spanwright_benches::{
    Discard, SdkMetrics, Service, Tuned, block_on, lean_call, plain, plain_async, plain_named,
    plain_ready, plain_result, plain_unit, poll_dyn, provider, span_named, span_ready, span_result,
    span_unit, spanwright_async, spanwright_metrics, spanwright_span, tracing_instrument,
    tracing_ready,
};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("case");
    if case == "sizes" {
        for (variant, bytes) in spanwright_benches::future_sizes() {
            println!("{variant}\t{bytes}");
        }
        return;
    }
    let n: u64 = args.next().expect("n").parse().expect("a number");
    // The enabled cases: spanwright's telemetry, or a hand-tuned SDK tracer, both
    // with a batch processor and an exporter that discards.
    // The `_dropped` cases sample nothing: what a span the sampler drops costs.
    let dropped = case.ends_with("_dropped");
    let sampler = || {
        if dropped {
            Sampler::AlwaysOff
        } else {
            Sampler::AlwaysOn
        }
    };
    let held = case == "span_held" || case == "span_held_child";
    if case.starts_with("metrics_") {
        // The meter exists when an exporter of metrics is chosen: the console's,
        // which prints once, at the end.
        // SAFETY: set before any other thread of this process starts.
        unsafe { std::env::set_var("OTEL_METRICS_EXPORTER", "console") };
    }
    let filtered = case == "span_filtered";
    let telemetry = matches!(
        case.as_str(),
        "span_sampled"
            | "span_dropped"
            | "async_sampled"
            | "span_held"
            | "span_held_child"
            | "span_filtered"
            | "metrics_sampled"
            | "metrics_dropped"
    )
    .then(|| {
        if filtered {
            // Installed, with this crate's spans turned off (SPANWRIGHT_SPANS).
            return spanwright::Telemetry::builder()
                .exporter(Discard)
                .spans("spanwright_benches=off")
                .install()
                .unwrap();
        }
        if held {
            // Every call a local root not chosen up front: held, then discarded.
            return spanwright::Telemetry::builder()
                .exporter(Discard)
                .keep_errors(0.0)
                .install()
                .unwrap();
        }
        spanwright::Telemetry::builder()
            .exporter(Discard)
            .sampler(sampler())
            .install()
            .unwrap()
    });
    // `tracing` with a subscriber whose filter turns this crate off, as an
    // application writes `RUST_LOG=info,spanwright_benches=off`.
    let _subscriber = (case == "tracing_filtered").then(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_target(
                "spanwright_benches",
                tracing_subscriber::filter::LevelFilter::OFF,
            );
        tracing::subscriber::set_default(tracing_subscriber::registry().with(filter))
    });
    let sdk_metrics = SdkMetrics::default();
    let sdk = provider(sampler());
    let tuned = Tuned::new(&sdk);
    if case == "span_held_child" {
        // Every call a child held under one open local root.
        black_box(held_root(&case, n, &tuned, &sdk_metrics));
    } else {
        black_box(measured(&case, n, &tuned, &sdk_metrics));
    }
    drop(telemetry);
}

/// A local root not chosen up front (sampling that keeps errors), open around
/// the measured loop.
#[spanwright::span(root)]
fn held_root(case: &str, n: u64, tuned: &Tuned, sdk_metrics: &SdkMetrics) -> usize {
    measured(case, n, tuned, sdk_metrics)
}

/// The measured loop: `instructions.sh` counts only what runs inside it
/// (`--toggle-collect`), so start-up and other threads stay out of the figures.
#[inline(never)]
fn measured(case: &str, n: u64, tuned: &Tuned, sdk_metrics: &SdkMetrics) -> usize {
    let mut sum = 0usize;
    match case {
        "plain" => (0..n).for_each(|i| sum += plain(black_box(i), black_box("resize"))),
        "span" => (0..n).for_each(|i| sum += spanwright_span(black_box(i), black_box("resize"))),
        "plain_async" => {
            (0..n).for_each(|i| sum += block_on(plain_async(black_box(i), black_box("resize"))))
        }
        "span_async" => (0..n)
            .for_each(|i| sum += block_on(spanwright_async(black_box(i), black_box("resize")))),
        "span_sampled" | "span_dropped" | "span_held" | "span_held_child" | "span_filtered" => {
            (0..n).for_each(|i| sum += spanwright_span(black_box(i), black_box("resize")))
        }
        "async_sampled" => (0..n)
            .for_each(|i| sum += block_on(spanwright_async(black_box(i), black_box("resize")))),
        "tuned_async" => (0..n)
            .for_each(|i| sum += block_on(tuned.call_async(black_box(i), black_box("resize")))),
        "tuned" | "tuned_dropped" => {
            (0..n).for_each(|i| sum += tuned.call(black_box(i), black_box("resize")))
        }
        "floor" => (0..n).for_each(|i| {
            sum += spanwright_benches::floor::call(black_box(i), black_box("resize"))
        }),
        "floor_context_only" => (0..n).for_each(|i| {
            sum += spanwright_benches::floor::call_context_only(black_box(i), black_box("resize"))
        }),
        "lean" => {
            (0..n).for_each(|i| sum += lean_call(&tuned.tracer, black_box(i), black_box("resize")))
        }
        // Sync shapes, disabled.
        "plain_unit" => (0..n).for_each(|i| plain_unit(black_box(i), black_box("resize"))),
        "span_unit" => (0..n).for_each(|i| span_unit(black_box(i), black_box("resize"))),
        "plain_result" => {
            (0..n).for_each(|i| sum += plain_result(black_box(i), black_box("resize")).unwrap_or(0))
        }
        "span_result" => {
            (0..n).for_each(|i| sum += span_result(black_box(i), black_box("resize")).unwrap_or(0))
        }
        "plain_method" => {
            let service = Service { base: 1 };
            (0..n).for_each(|i| sum += service.plain_method(black_box(i), black_box("resize")))
        }
        "span_method" => {
            let service = Service { base: 1 };
            (0..n).for_each(|i| sum += service.span_method(black_box(i), black_box("resize")))
        }
        "plain_named" => (0..n).for_each(|i| sum += plain_named(black_box(i), black_box("resize"))),
        "span_named" => (0..n).for_each(|i| sum += span_named(black_box(i), black_box("resize"))),
        // Async completing in one poll, polled through `Pin<&mut dyn Future>`.
        "plain_ready" => (0..n)
            .for_each(|i| sum += poll_dyn(plain_ready(black_box(i), black_box("resize"))) as usize),
        "span_ready" => (0..n)
            .for_each(|i| sum += poll_dyn(span_ready(black_box(i), black_box("resize"))) as usize),
        // `#[span(metrics)]`, sampled or dropped; the SDK's instruments alone.
        "metrics_sampled" | "metrics_dropped" => {
            (0..n).for_each(|i| sum += spanwright_metrics(black_box(i), black_box("resize")))
        }
        "sdk_metrics" => {
            (0..n).for_each(|i| sum += sdk_metrics.call(black_box(i), black_box("resize")))
        }
        // No subscriber, or one that filters the function's target off.
        "tracing_sync" | "tracing_filtered" => {
            (0..n).for_each(|i| sum += tracing_instrument(black_box(i), black_box("resize")))
        }
        "tracing_ready" => (0..n).for_each(|i| {
            sum += poll_dyn(tracing_ready(black_box(i), black_box("resize"))) as usize
        }),
        other => panic!("unknown case {other}"),
    }
    sum
}
