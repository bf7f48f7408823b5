//! A service whose spans are dropped (a tiny queue) and whose exports fail, run
//! as a subprocess by `tests/diagnostics.rs` with stderr closed or a broken pipe:
//! spanwright's lines about it must never panic or block it.

use spanwright::opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use spanwright::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::time::Duration;

#[derive(Debug)]
struct Failing;

impl SpanExporter for Failing {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(Duration::from_millis(20));
        Err(OTelSdkError::InternalFailure(
            "the collector refused".into(),
        ))
    }
}

#[spanwright::span]
fn work(i: u32) -> u32 {
    i
}

fn main() {
    if std::env::var_os("FILL_STDERR").is_some() {
        // Another part of the program fills stderr, a pipe nobody reads: its
        // writes block from then on, and so would any other writer's.
        std::thread::spawn(|| {
            use std::io::Write as _;
            let line = [b'x'; 1024];
            loop {
                let _ = std::io::stderr().write_all(&line);
            }
        });
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: before any other thread reads the environment.
    unsafe {
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "4");
        std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2");
    }
    let telemetry = spanwright::Telemetry::builder()
        .exporter(Failing)
        .shutdown_timeout(Duration::from_millis(500))
        .install()
        .expect("valid settings");
    let mut sum = 0;
    for i in 0..2_000 {
        sum += work(i);
    }
    std::thread::sleep(Duration::from_millis(100));
    let stats = telemetry.shutdown();
    assert!(
        stats.spans_dropped > 0 && stats.export_failures > 0,
        "{stats:?}"
    );
    println!("survived: {sum}");
}
