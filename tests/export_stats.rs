//! Nothing lost silently: against a real receiver with a tiny export queue, and
//! against a dead one, every lost span is counted in `Telemetry::stats()` where
//! it is lost (checked against what the receiver got), and the first loss of
//! each cause is one line on stderr.

#[allow(dead_code)] // the shared helpers serve several test binaries
mod receivers;

use receivers::rotel::Rotel;
use receivers::{free_port, wait_for};
use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

struct Run {
    stats: HashMap<String, u64>,
    stderr: String,
}

fn overload(envs: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_overload"));
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let output = command
        .envs(envs.iter().copied())
        .output()
        .expect("run overload");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stats "))
        .unwrap_or_else(|| panic!("no stats line: {stdout}{stderr}"));
    let stats = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect();
    Run { stats, stderr }
}

fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn a_full_queue_drops_are_counted_reported_once_and_add_up() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    let endpoint = format!("http://127.0.0.1:{}", rotel.grpc_port);
    let service = format!("overload-{}", std::process::id());
    let run = overload(&[
        ("OTEL_SERVICE_NAME", &service),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
        ("SPANS", "20000"),
    ]);
    let s = &run.stats;
    assert_eq!(s["offered"], 20_000, "{s:?}");
    assert_eq!(s["ended"], 20_000, "{s:?}");
    assert!(
        s["queue_full"] > 0,
        "a 16-span queue kept up with 20,000 spans: {s:?}"
    );
    assert_eq!(s["failures"], 0, "{s:?}\n{}", run.stderr);
    assert_eq!(s["lost_in_failures"], 0, "{s:?}");
    assert_eq!(
        lines_with(&run.stderr, "the export queue is full"),
        1,
        "one line for the first drop, then quiet for 10 s:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("OTEL_BSP_MAX_QUEUE_SIZE"),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines_with(&run.stderr, "spans were not exported"),
        1,
        "the shutdown summary:\n{}",
        run.stderr
    );
    // What the receiver got is exactly what was counted as exported.
    let exported = s["exported"] as usize;
    let received = wait_for(
        Duration::from_secs(30),
        &format!("{exported} spans at rotel"),
        || {
            let n = rotel
                .spans()
                .iter()
                .filter(|r| r.service_name == service)
                .count();
            (n >= exported).then_some(n)
        },
    );
    assert_eq!(received, exported);
    // Every span the receiver did not get was counted where it was dropped: the
    // offered count (the caller's), what Rotel received and the drops counted at
    // the full queue are three independent measurements.
    assert_eq!(
        s["offered"] - received as u64,
        s["queue_full"],
        "a span lost without being counted: {s:?}"
    );
    assert_eq!(s["dropped"], s["queue_full"], "{s:?}");
}

#[test]
fn failed_exports_are_counted_and_reported_once() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let run = overload(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &dead),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ("SPANS", "100"),
    ]);
    let s = &run.stats;
    assert_eq!(s["ended"], 100, "{s:?}");
    assert_eq!(s["exported"], 0, "{s:?}");
    // Counted as each export failed, not derived from what was not exported;
    // what was still queued when the shutdown timeout ran out is the rest.
    // Nothing reached the dead endpoint: all 100 lost.
    assert!(
        s["lost_in_failures"] > 0 && s["lost_in_failures"] <= 100,
        "{s:?}"
    );
    assert_eq!(s["queue_full"], 0, "{s:?}");
    assert_eq!(s["dropped"], 100, "{s:?}");
    assert!(s["failures"] >= 1, "{s:?}");
    assert_eq!(
        lines_with(&run.stderr, "failed ("),
        1,
        "one line for the first failure:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&dead),
        "the line names the endpoint:\n{}",
        run.stderr
    );
    assert_eq!(
        lines_with(&run.stderr, "spans were not exported"),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn a_scheme_less_endpoint_failing_over_tls_says_why() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    // No scheme: TLS is assumed, and the plaintext receiver cannot answer it.
    let endpoint = format!("127.0.0.1:{}", rotel.grpc_port);
    let run = overload(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("SPANS", "10"),
    ]);
    assert_eq!(run.stats["exported"], 0, "{:?}", run.stats);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("failed ("))
        .unwrap_or_else(|| panic!("no failure line:\n{}", run.stderr));
    assert!(
        line.contains("https://127.0.0.1") && line.contains("OTEL_EXPORTER_OTLP_INSECURE=true"),
        "the line names the TLS assumption and the fix: {line}"
    );
}

/// A collector that accepts every export but rejects two spans of it (OTLP
/// partial success); returns its base URL.
fn rejecting_collector() -> String {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            loop {
                let (mut length, mut line) = (0, String::new());
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                if line != "\r\n" {
                    break;
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                // ExportTraceServiceResponse { partial_success = 1: {
                //   rejected_spans = 1: 2, error_message = 2: "invalid span id" } }
                let message = b"invalid span id";
                let mut partial = vec![0x08, 2, 0x12, message.len() as u8];
                partial.extend_from_slice(message);
                let mut answer = vec![0x0A, partial.len() as u8];
                answer.extend_from_slice(&partial);
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
                    answer.len()
                )
                .unwrap();
                writer.write_all(&answer).unwrap();
            }
        }
    });
    base
}

#[spanwright::span]
fn accepted_or_not(n: u32) -> u32 {
    n
}

#[test]
fn spans_a_collector_rejects_are_counted_lost() {
    let diagnostics = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&diagnostics);
    let telemetry = spanwright::Telemetry::builder()
        .otlp(
            spanwright::OtlpProtocol::HttpProtobuf,
            rejecting_collector(),
        )
        .on_diagnostic(move |d| seen.lock().unwrap().push(d.to_string()))
        .install()
        .unwrap();
    (0..6).for_each(|n| {
        accepted_or_not(n);
    });
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_ended, 6, "{stats:?}");
    assert_eq!(stats.spans_exported, 4, "{stats:?}");
    assert_eq!(stats.spans_lost_in_failed_exports, 2, "{stats:?}");
    assert_eq!(stats.spans_dropped, 2, "{stats:?}");
    let diagnostics = diagnostics.lock().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.contains("rejected 2 of its spans: invalid span id")),
        "{diagnostics:?}"
    );
}
