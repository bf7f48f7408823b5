//! Nothing grows without bound in a long-running service: full-size attribute
//! values never wait in the export queue (the value length limit is applied as a
//! span ends), and the console exporter holds a bounded number of spans of a
//! trace whose root never ends. Measured as the process's peak resident memory
//! (its own binary; the tests take turns).

use spanwright::opentelemetry_sdk::error::OTelSdkResult;
use spanwright::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

/// An exporter that does not take its first batch until released: every span
/// waits in the queue meanwhile.
#[derive(Debug, Clone, Default)]
struct Stalled(Arc<AtomicBool>);

impl SpanExporter for Stalled {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        while !self.0.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

#[spanwright::span(attrs(payload = %payload))]
fn record(payload: &str) {}

#[test]
fn queued_spans_hold_values_cut_to_the_limit() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: the tests of this binary take turns.
    unsafe {
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "32768");
        std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "32768");
        std::env::set_var("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64");
    }
    let stalled = Stalled::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(stalled.clone())
        .shutdown_timeout(Duration::from_secs(5))
        .install()
        .unwrap();
    let payload = "x".repeat(20_000);
    let before = spanwright_tests::peak_rss_mib();
    for _ in 0..30_000 {
        record(&payload);
    }
    let grown = spanwright_tests::peak_rss_mib() - before;
    stalled.0.store(true, Ordering::Relaxed);
    let stats = telemetry.shutdown();
    unsafe {
        for var in [
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        ] {
            std::env::remove_var(var);
        }
    }
    println!("30,000 queued spans with 20 KB values, limit 64: peak RSS +{grown:.1} MiB");
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    // Full-size values would be 30,000 x 20 KB = 572 MiB.
    assert!(grown < 100.0, "peak RSS grew {grown:.1} MiB");
}

#[test]
fn the_console_holds_a_bounded_part_of_a_never_ending_trace() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // A child process: its 300 drawings go to a stderr nobody reads.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_console_memory"))
        .env_remove("OTEL_TRACES_EXPORTER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the console child did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{status:?}\n{stdout}");
    let numbers: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result: {stdout}"))
        .split_whitespace()
        .collect();
    let (grown, ended, dropped): (f64, u64, u64) = (
        numbers[0].parse().unwrap(),
        numbers[1].parse().unwrap(),
        numbers[2].parse().unwrap(),
    );
    println!("console, a root that never ends over 300,000 children: peak RSS +{grown:.1} MiB");
    assert!(ended > 300_000, "{stdout}");
    assert_eq!(dropped, 0, "every span reached the console: {stdout}");
    // Holding every child until the root ends took over 150 MiB.
    assert!(grown < 60.0, "peak RSS grew {grown:.1} MiB");
}
