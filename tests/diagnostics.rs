//! spanwright's lines about itself (drops, failed exports, the shutdown summary)
//! never hurt the host: a child process with stderr closed, one whose stderr is a
//! broken pipe and one whose stderr is a full pipe nobody reads run to the end;
//! `on_diagnostic` routes the lines instead.

use spanwright::DiagnosticKind;
use spanwright::opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use spanwright::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD: &str = env!("CARGO_BIN_EXE_diagnostics");

/// Waits for the child, failing the test (and killing it) past `bound`.
fn finish(mut child: Child, bound: Duration) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                std::io::Read::read_to_string(&mut out, &mut stdout).unwrap();
            }
            return (status, stdout);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child is blocked after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_broken_stderr_pipe_neither_panics_nor_blocks() {
    let mut child = Command::new(CHILD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody will ever read stderr: writing to it is a broken pipe.
    drop(child.stderr.take());
    let (status, stdout) = finish(child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{stdout}");
    assert!(stdout.contains("survived"), "{stdout}");
}

#[test]
fn a_full_stderr_pipe_does_not_block_the_service() {
    let mut child = Command::new(CHILD)
        .env("FILL_STDERR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open, never read: once its buffer is full every write would block.
    let unread = child.stderr.take();
    let (status, stdout) = finish(child, Duration::from_secs(20));
    drop(unread);
    assert!(status.success(), "{status:?}\n{stdout}");
    assert!(stdout.contains("survived"), "{stdout}");
}

#[test]
fn a_closed_stderr_neither_panics_nor_blocks() {
    let child = Command::new("sh")
        .args(["-c", "exec 2>&-; exec \"$0\"", CHILD])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stdout) = finish(child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{stdout}");
    assert!(stdout.contains("survived"), "{stdout}");
}

#[derive(Debug)]
struct Refusing;

impl SpanExporter for Refusing {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure(
            "the collector refused".into(),
        ))
    }
}

#[spanwright::span]
fn work() {}

#[test]
fn on_diagnostic_routes_the_lines() {
    let lines: Arc<Mutex<Vec<(DiagnosticKind, String)>>> = Arc::default();
    let sink = Arc::clone(&lines);
    let telemetry = spanwright::Telemetry::builder()
        .exporter(Refusing)
        .on_diagnostic(move |d| sink.lock().unwrap().push((d.kind(), d.to_string())))
        .install()
        .unwrap();
    work();
    telemetry.flush();
    drop(telemetry);
    let lines = lines.lock().unwrap();
    let kinds: Vec<DiagnosticKind> = lines.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [DiagnosticKind::ExportFailed, DiagnosticKind::Summary],
        "{lines:?}"
    );
    assert!(lines[0].1.contains("the collector refused"), "{lines:?}");
    assert!(
        lines[1].1.contains("1 of 1 spans were not exported"),
        "{lines:?}"
    );
}
