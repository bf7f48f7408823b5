//! Offers spans at a fixed rate (or as fast as two threads can) to an OTLP
//! collector for a few seconds, through spanwright with its defaults or through
//! the plain OpenTelemetry SDK with its defaults, then shuts down and prints what
//! the process knows: spans offered, and for spanwright the exported, dropped and
//! reported counts. `throughput.sh` runs it against a live Rotel and counts what
//! arrived.
//!
//! Usage: `throughput (spanwright|sdk|sdk-matched) RATE_PER_S|max|count:N SECONDS ENDPOINT [PROTOCOL]`
//!
//! `count:N` offers exactly N spans from one thread as fast as it can (for
//! `export_cost.sh`, which counts the instructions of the whole process under
//! callgrind); PROTOCOL is `grpc` (the default) or `http/protobuf`, ENDPOINT the
//! collector's base URL.

use spanwright::opentelemetry::KeyValue;
use spanwright::opentelemetry::trace::{Tracer as _, TracerProvider as _};
use spanwright::opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider,
};
use std::time::{Duration, Instant};

/// `code.line.number` of `offered`, for the SDK's rows.
const OFFERED_LINE: i64 = line!() as i64 + 3;

#[spanwright::span(attrs(n))]
fn offered(n: u64) -> u64 {
    n + 1
}

/// Calls `make` `rate` times a second for `seconds` (or as fast as it can with
/// `rate` = None, from two threads); returns how many calls were made.
fn offer(rate: Option<u64>, seconds: u64, make: impl Fn(u64) + Sync) -> u64 {
    let length = Duration::from_secs(seconds);
    let started = Instant::now();
    if let Some(count) = COUNT.get().copied() {
        (0..count).for_each(&make);
        return count;
    }
    match rate {
        Some(rate) => {
            let total = rate * seconds;
            for i in 0..total {
                // Pace by the schedule, not by sleeping per span: bursts catch up.
                let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                let now = Instant::now();
                if due > now + Duration::from_micros(200) {
                    std::thread::sleep(due - now);
                }
                make(i);
            }
            total
        }
        None => std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        let mut n = 0;
                        while started.elapsed() < length {
                            for _ in 0..64 {
                                make(n);
                                n += 1;
                            }
                        }
                        n
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        }),
    }
}

/// `count:N`: exactly N spans.
static COUNT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Generous: under callgrind everything runs fifty times slower.
const SHUTDOWN: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, rate, seconds, endpoint, protocol) = match &args[..] {
        [_, mode, rate, seconds, endpoint] => (mode, rate, seconds, endpoint, "grpc"),
        [_, mode, rate, seconds, endpoint, protocol] => {
            (mode, rate, seconds, endpoint, protocol.as_str())
        }
        _ => {
            eprintln!(
                "usage: throughput (spanwright|sdk|sdk-matched) RATE_PER_S|max|count:N SECONDS ENDPOINT [grpc|http/protobuf]"
            );
            std::process::exit(2);
        }
    };
    let http = match protocol {
        "grpc" => false,
        "http/protobuf" => true,
        other => panic!("unknown protocol {other}"),
    };
    if let Some(count) = rate.strip_prefix("count:") {
        COUNT.set(count.parse().expect("a count")).unwrap();
    }
    let rate =
        (rate != "max" && COUNT.get().is_none()).then(|| rate.parse::<u64>().expect("a rate"));
    let seconds = seconds.parse::<u64>().expect("seconds");
    match mode.as_str() {
        "spanwright" => {
            let telemetry = spanwright::Telemetry::builder()
                .otlp(
                    if http {
                        spanwright::OtlpProtocol::HttpProtobuf
                    } else {
                        spanwright::OtlpProtocol::Grpc
                    },
                    endpoint.clone(),
                )
                .shutdown_timeout(SHUTDOWN)
                .install()
                .expect("install");
            let offered = offer(rate, seconds, |n| {
                std::hint::black_box(offered(n));
            });
            let stats = telemetry.shutdown();
            println!(
                "offered={offered} exported={} dropped={} reported={}",
                stats.spans_exported, stats.spans_dropped, stats.spans_dropped
            );
        }
        "sdk" | "sdk-matched" => {
            // What a user of the SDK alone writes: the OTLP exporter on a Tokio
            // runtime, the default batch processor (queue 2,048, batch 512).
            // `sdk-matched`: spanwright's queue and batch sizes (16,384 and
            // 512, or the variables spanwright reads). Both record the same attributes on every span as
            // spanwright (`n` and the three `code.*` attributes).
            let matched = mode == "sdk-matched";
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            let exporter = {
                let _entered = runtime.enter();
                use opentelemetry_otlp::WithExportConfig as _;
                if http {
                    // Its docs' default HTTP client (reqwest, blocking: the
                    // batch processor exports from a plain thread).
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_endpoint(format!("{endpoint}/v1/traces"))
                        .with_timeout(SHUTDOWN)
                        .build()
                        .expect("exporter")
                } else {
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint.clone())
                        .with_timeout(SHUTDOWN)
                        .build()
                        .expect("exporter")
                }
            };
            let mut processor = BatchSpanProcessor::builder(exporter);
            if matched {
                // spanwright's queue and batch size (or the variables, which
                // spanwright reads too).
                use spanwright_benches::{BATCH_SIZE, QUEUE_SIZE, size_from_env};
                processor = processor.with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(size_from_env("OTEL_BSP_MAX_QUEUE_SIZE", QUEUE_SIZE))
                        .with_max_export_batch_size(size_from_env(
                            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                            BATCH_SIZE,
                        ))
                        .build(),
                );
            }
            let provider = SdkTracerProvider::builder()
                .with_span_processor(processor.build())
                .build();
            let tracer = provider.tracer("throughput");
            let offered = offer(rate, seconds, |n| {
                // The same attributes on both sides, given at build time as
                // tuned SDK code passes them: the receiver's work per span is
                // the same whoever sends it.
                {
                    let span = tracer
                        .span_builder("offered")
                        .with_attributes([
                            KeyValue::new("code.function.name", "throughput::offered"),
                            KeyValue::new("code.file.path", "benches/throughput.rs"),
                            KeyValue::new("code.line.number", OFFERED_LINE),
                            KeyValue::new("n", n as i64),
                        ])
                        .start(&tracer);
                    let cx = spanwright::opentelemetry::Context::current_with_span(span);
                    let _current = cx.clone().attach();
                    use spanwright::opentelemetry::trace::TraceContextExt as _;
                    cx.span().end();
                }
            });
            let _ = provider.shutdown_with_timeout(SHUTDOWN);
            drop(runtime);
            // The SDK counts its drops privately and reports them nowhere.
            println!("offered={offered} exported=? dropped=? reported=0");
        }
        other => panic!("unknown mode {other}"),
    }
}
