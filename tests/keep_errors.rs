//! Sampling that keeps errors: a ratio of traces chosen up front, and every
//! local trace in which a span fails, whole; the rest recorded, held until
//! their local root ends, and discarded, counted apart from drops.

#[allow(dead_code)] // this test uses Rotel only
mod receivers;

use spanwright::opentelemetry::Context;
use spanwright::{OtlpProtocol, Telemetry};
use spanwright_tests::{Kept, services};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
struct Failed;
impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

/// A request: a root, a child, and a grandchild that fails when asked to.
#[spanwright::span(root, attrs(n))]
fn request(n: u32, fail: bool) -> String {
    let _ = step(fail);
    spanwright::current().trace_id().expect("recorded")
}

#[spanwright::span]
fn step(fail: bool) -> Result<(), Failed> {
    lookup(fail)
}

#[spanwright::span]
fn lookup(fail: bool) -> Result<(), Failed> {
    if fail { Err(Failed) } else { Ok(()) }
}

fn install(kept: &Kept, ratio: f64) -> Telemetry {
    Telemetry::builder()
        .exporter(kept.clone())
        .keep_errors(ratio)
        .install()
        .unwrap()
}

/// Keeps errors at ratio 0.0 and exports nothing: for what `stats()` counts.
fn install_unexported() -> Telemetry {
    Telemetry::builder()
        .no_export()
        .keep_errors(0.0)
        .install()
        .unwrap()
}

/// This thread's `tracing` spans through spanwright's bridge, until dropped.
fn bridged() -> tracing::subscriber::DefaultGuard {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry().with(spanwright::tracing_layer());
    tracing::subscriber::set_default(subscriber)
}

fn traces_of(kept: &Kept) -> BTreeSet<String> {
    kept.spans()
        .iter()
        .map(|s| s.span_context.trace_id().to_string())
        .collect()
}

#[test]
fn only_failed_traces_are_kept_whole_at_ratio_zero() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let mut failing = BTreeSet::new();
    for n in 0..50 {
        let fail = n % 5 == 0;
        let trace = request(n, fail);
        if fail {
            failing.insert(trace);
        }
    }
    let stats = telemetry.shutdown();
    assert_eq!(failing.len(), 10);
    assert_eq!(traces_of(&kept), failing, "exactly the failing traces");
    let spans = kept.spans();
    assert_eq!(spans.len(), 30, "each whole: request, step, lookup");
    for trace in &failing {
        let names: BTreeSet<String> = spans
            .iter()
            .filter(|s| s.span_context.trace_id().to_string() == *trace)
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(
            names,
            ["lookup", "request", "step"].map(String::from).into()
        );
    }
    assert!(spans.iter().all(|s| s.span_context.is_sampled()));
    assert_eq!(stats.spans_discarded_by_sampler, 40 * 3);
    assert_eq!(stats.spans_dropped, 0);
    assert_eq!(stats.spans_forced_out, 0);
    assert_eq!((stats.spans_ended, stats.spans_exported), (30, 30));
}

#[spanwright::span(root)]
fn request_with_panicking_child() -> String {
    let _ = std::panic::catch_unwind(panicking_child);
    spanwright::current().trace_id().expect("recorded")
}

#[spanwright::span]
fn panicking_child() {
    panic!("boom");
}

#[test]
fn a_panicking_child_keeps_its_trace() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let trace = request_with_panicking_child();
    let _ = request(1, false);
    telemetry.shutdown();
    assert_eq!(traces_of(&kept), BTreeSet::from([trace]));
    assert_eq!(kept.spans().len(), 2);
    assert_eq!(
        kept.named("request_with_panicking_child").status,
        spanwright::opentelemetry::trace::Status::Unset,
        "the root itself did not fail"
    );
}

#[test]
fn ratio_one_keeps_everything() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 1.0);
    for n in 0..50 {
        request(n, n % 5 == 0);
    }
    let stats = telemetry.shutdown();
    assert_eq!(kept.spans().len(), 150);
    assert_eq!(stats.spans_discarded_by_sampler, 0);
}

#[test]
fn the_plain_ratio_sampler_drops_failures_too() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .sampler(spanwright::opentelemetry_sdk::trace::Sampler::ParentBased(
            Box::new(spanwright::opentelemetry_sdk::trace::Sampler::TraceIdRatioBased(0.0)),
        ))
        .install()
        .unwrap();
    for n in 0..50 {
        request(n, n % 5 == 0);
    }
    telemetry.shutdown();
    assert!(kept.spans().is_empty());
}

#[spanwright::span(root)]
fn held_request_injects() -> String {
    let mut headers = HashMap::new();
    spanwright::inject(&mut headers);
    headers.remove("traceparent").unwrap()
}

#[test]
fn downstream_sees_the_up_front_decision() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let traceparent = held_request_injects();
    assert!(traceparent.ends_with("-00"), "{traceparent}");
    // Recorded and held (not dropped by a head sampler), then discarded.
    assert_eq!(telemetry.shutdown().spans_discarded_by_sampler, 1);
    let kept = Kept::default();
    let telemetry = install(&kept, 1.0);
    assert!(held_request_injects().ends_with("-01"));
    drop(telemetry);
}

#[spanwright::span]
fn late_child(fail: bool) -> Result<(), Failed> {
    if fail { Err(Failed) } else { Ok(()) }
}

/// Runs a root that hands its context to a thread; the thread's child ends
/// after the root has ended.
#[spanwright::span(root)]
fn root_with_late_child() -> Context {
    Context::current()
}

#[test]
fn a_late_child_follows_its_traces_decision() {
    let _serial = serial();
    // Discarded: the root ended fine; the late child is discarded with it,
    // even though it fails: the trace was decided.
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let cx = root_with_late_child();
    std::thread::spawn(move || {
        let _attached = cx.attach();
        let _ = late_child(true);
    })
    .join()
    .unwrap();
    let stats = telemetry.shutdown();
    assert!(kept.spans().is_empty());
    assert_eq!(stats.spans_discarded_by_sampler, 2);

    // Kept: a child failed before the root ended; the late child goes too.
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let (cx, trace) = keep_then_hand_over();
    std::thread::spawn(move || {
        let _attached = cx.attach();
        let _ = late_child(false);
    })
    .join()
    .unwrap();
    telemetry.shutdown();
    assert_eq!(traces_of(&kept), BTreeSet::from([trace]));
    let names: BTreeSet<String> = kept.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(
        names,
        ["keep_then_hand_over", "late_child", "lookup"]
            .map(String::from)
            .into()
    );
}

#[spanwright::span(root)]
fn keep_then_hand_over() -> (Context, String) {
    let _ = lookup(true);
    let trace = spanwright::current().trace_id().expect("recorded");
    (Context::current(), trace)
}

#[spanwright::span]
fn tiny_child(i: u64) -> u64 {
    i
}

#[spanwright::span(root)]
fn long_lived_root(children: u64) -> u64 {
    (0..children).map(tiny_child).sum()
}

/// Resident memory now, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

#[spanwright::span(root)]
fn long_lived_root_measured(children: u64) -> f64 {
    let before = rss_mib();
    (0..children).for_each(|i| {
        tiny_child(i);
    });
    // Still open: what it holds now is what it holds at most.
    rss_mib() - before
}

#[test]
fn an_open_root_holds_at_most_its_bound() {
    let _serial = serial();
    // No wait limit in reach, however slow this build: only the count bounds.
    let _env = Env::set(&[("SPANWRIGHT_KEEP_ERRORS_MAX_WAIT_MS", "3600000")]);
    let telemetry = install_unexported();
    let grown = long_lived_root_measured(500_000);
    let stats = telemetry.shutdown();
    // Held in windows of 1,000 (the default), each discarded as it filled.
    assert_eq!(stats.spans_forced_out, 500_000);
    assert_eq!(stats.spans_discarded_by_sampler, 1, "the root, at its end");
    // 500,000 held records would be over 100 MiB.
    assert!(grown < 40.0, "RSS grew {grown:.1} MiB");
}

#[test]
fn held_traces_reach_a_real_receiver_only_when_they_fail() {
    if !services::rotel() {
        return;
    }
    let _serial = serial();
    let rotel = receivers::rotel::Rotel::start();
    let telemetry = Telemetry::builder()
        .otlp(
            OtlpProtocol::Grpc,
            format!("http://127.0.0.1:{}", rotel.grpc_port),
        )
        .keep_errors(0.0)
        .install()
        .unwrap();
    let fine = request(1, false);
    let failed = request(2, true);
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 3);
    let received = rotel.wait_for_trace(&failed, 3);
    let lookup = received.iter().find(|s| s.name == "lookup").unwrap();
    assert_eq!(lookup.status, "error");
    let request_span = received.iter().find(|s| s.name == "request").unwrap();
    assert!(
        request_span
            .attributes
            .iter()
            .any(|(k, v)| k == "n" && v == "Int(2)"),
        "{request_span:?}"
    );
    assert!(
        rotel.spans().iter().all(|s| s.trace_id != fine),
        "the trace that did not fail never left"
    );
    rotel.stop();
}

/// Sets environment variables until dropped (under `SERIAL`).
struct Env(Vec<&'static str>);

impl Env {
    fn set(vars: &[(&'static str, &str)]) -> Env {
        for (key, value) in vars {
            // SAFETY: only tests holding SERIAL touch these variables.
            unsafe { std::env::set_var(key, value) };
        }
        Env(vars.iter().map(|(key, _)| *key).collect())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for key in &self.0 {
            // SAFETY: as above.
            unsafe { std::env::remove_var(key) };
        }
    }
}

#[test]
fn the_environment_chooses_it_with_its_bounds() {
    let _serial = serial();
    let _env = Env::set(&[
        (
            "OTEL_TRACES_SAMPLER",
            "ParentBased_TraceIdRatio_Keep_Errors",
        ),
        ("OTEL_TRACES_SAMPLER_ARG", "0.0"),
        ("SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE", "5"),
    ]);
    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let described = telemetry.describe();
    assert!(
        described
            .contains("sampler = parentbased_traceidratio_keep_errors 0 (OTEL_TRACES_SAMPLER)"),
        "{described}"
    );
    assert!(
        described.contains(
            "keep errors: spans held per trace = 5 (SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE)"
        ),
        "{described}"
    );
    assert!(described.contains("keep errors: longest wait = 30000 ms (default)"));
    long_lived_root(12);
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_forced_out, 10, "two windows of five");
    assert_eq!(
        stats.spans_discarded_by_sampler, 3,
        "two children and the root"
    );
    assert!(kept.spans().is_empty());
    drop(_env);

    let _env = Env::set(&[("SPANWRIGHT_KEEP_ERRORS_MAX_SPANS", "0")]);
    let error = Telemetry::builder()
        .keep_errors(0.5)
        .no_export()
        .install()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "SPANWRIGHT_KEEP_ERRORS_MAX_SPANS=\"0\" is not valid: a whole number, 1 or more"
    );
    drop(_env);
    let error = Telemetry::builder()
        .keep_errors(1.5)
        .no_export()
        .install()
        .unwrap_err();
    assert!(
        error.to_string().contains("a ratio from 0.0 to 1.0"),
        "{error}"
    );
}

#[spanwright::span(root)]
fn request_through_a_library(fail: bool) -> String {
    {
        let _library = tracing::info_span!("library.call").entered();
        let _ = lookup(fail);
    }
    spanwright::current().trace_id().expect("recorded")
}

/// A `tracing` span in a held trace is held with it, and kept with it.
#[test]
fn tracing_spans_are_held_with_their_trace() {
    let _serial = serial();
    let _default = bridged();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let failed = request_through_a_library(true);
    let _fine = request_through_a_library(false);
    let stats = telemetry.shutdown();
    assert_eq!(traces_of(&kept), BTreeSet::from([failed]));
    let names: BTreeSet<String> = kept.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(
        names,
        ["library.call", "lookup", "request_through_a_library"]
            .map(String::from)
            .into()
    );
    let library = kept.named("library.call");
    assert_eq!(library.instrumentation_scope.name(), "spanwright");
    assert_eq!(
        kept.named("lookup").parent_span_id,
        library.span_context.span_id()
    );
    assert_eq!(stats.spans_discarded_by_sampler, 3);
}

#[spanwright::span]
fn held_child() {}

#[spanwright::span(root)]
fn waits_between_children() {
    held_child();
    std::thread::sleep(Duration::from_millis(120));
    held_child();
}

#[test]
fn a_root_holds_spans_at_most_the_longest_wait() {
    let _serial = serial();
    let _env = Env::set(&[("SPANWRIGHT_KEEP_ERRORS_MAX_WAIT_MS", "50")]);
    let telemetry = install_unexported();
    waits_between_children();
    let stats = telemetry.shutdown();
    // The second child found the first held for over 50 ms: both decided early.
    assert_eq!(stats.spans_forced_out, 2);
    assert_eq!(stats.spans_discarded_by_sampler, 1, "the root, at its end");
}

#[spanwright::span(root)]
fn outer_trace() {
    held_child();
    held_child();
    held_child();
    inner_trace();
}

#[spanwright::span(root)]
fn inner_trace() {
    held_child();
}

#[test]
fn beyond_the_total_the_trace_held_longest_decides_first() {
    let _serial = serial();
    let _env = Env::set(&[("SPANWRIGHT_KEEP_ERRORS_MAX_SPANS", "3")]);
    let telemetry = install_unexported();
    outer_trace();
    let stats = telemetry.shutdown();
    // The fourth held span (the inner trace's child) went over three: the
    // outer trace, held longest, let its three children go (deciding the
    // inner trace instead would force out one and discard five).
    assert_eq!(stats.spans_forced_out, 3);
    assert_eq!(
        stats.spans_discarded_by_sampler, 3,
        "the inner trace, the outer root"
    );
}

#[spanwright::span]
fn fails_by_hand() {
    spanwright::opentelemetry::trace::get_active_span(|span| {
        span.set_status(spanwright::opentelemetry::trace::Status::error(
            "set by hand",
        ));
    });
}

#[spanwright::span(root)]
fn request_failing_by_hand() -> String {
    fails_by_hand();
    spanwright::current().trace_id().expect("recorded")
}

#[test]
fn an_error_set_by_hand_keeps_the_trace() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let trace = request_failing_by_hand();
    telemetry.shutdown();
    assert_eq!(traces_of(&kept), BTreeSet::from([trace]));
    assert_eq!(kept.spans().len(), 2);
}

#[spanwright::span(root)]
fn open_during_shutdown(
    started: std::sync::mpsc::Sender<String>,
    go_on: std::sync::mpsc::Receiver<()>,
) {
    let _ = lookup(true);
    let _ = step(false);
    started
        .send(spanwright::current().trace_id().unwrap())
        .unwrap();
    let _ = go_on.recv();
}

#[test]
fn the_shutdown_decides_the_traces_still_open() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let (started_tx, started) = std::sync::mpsc::channel();
    let (go_on, go_on_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || open_during_shutdown(started_tx, go_on_rx));
    let trace = started.recv().unwrap();
    let stats = telemetry.shutdown();
    go_on.send(()).unwrap();
    worker.join().unwrap();
    // What the open trace held (a failed lookup, a step and its lookup) left.
    assert_eq!(stats.spans_exported, 3);
    assert_eq!(traces_of(&kept), BTreeSet::from([trace]));
}

#[test]
fn a_tracing_root_holds_its_whole_trace() {
    let _serial = serial();
    let _default = bridged();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    for fail in [false, true] {
        let request = tracing::info_span!("http.request");
        let _entered = request.enter();
        let inner = tracing::info_span!("middleware");
        let _inner = inner.enter();
        let _ = step(fail);
    }
    let stats = telemetry.shutdown();
    let names: Vec<String> = kept.spans().iter().map(|s| s.name.to_string()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["http.request", "lookup", "middleware", "step"],
        "{names:?}"
    );
    assert_eq!(traces_of(&kept).len(), 1, "one trace, whole");
    assert_eq!(stats.spans_discarded_by_sampler, 4);
}

/// A `tracing` root's context handed to another thread: a child started there
/// after the root ended still belongs to its trace, and follows its decision.
#[test]
fn a_late_child_of_a_tracing_root_follows_its_decision() {
    let _serial = serial();
    let _default = bridged();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let cx = {
        let request = tracing::info_span!("http.request");
        let _entered = request.enter();
        Context::current()
    };
    std::thread::spawn(move || {
        let _attached = cx.attach();
        // Fails, but its trace (the root ended fine) was decided: discarded.
        let _ = late_child(true);
    })
    .join()
    .unwrap();
    let stats = telemetry.shutdown();
    assert!(kept.spans().is_empty(), "{:?}", kept.spans());
    assert_eq!(stats.spans_discarded_by_sampler, 2);
}

#[spanwright::span(root)]
fn open_root_with_a_failure(
    failed: std::sync::mpsc::Sender<()>,
    go_on: std::sync::mpsc::Receiver<()>,
) {
    let _ = lookup(true);
    failed.send(()).unwrap();
    let _ = go_on.recv();
}

/// A failure decides its trace at once: what it held leaves while the root is
/// still open (a crash later would not lose it).
#[test]
fn a_failure_is_exported_before_its_root_ends() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let (failed_tx, failed) = std::sync::mpsc::channel();
    let (go_on, go_on_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || open_root_with_a_failure(failed_tx, go_on_rx));
    failed.recv().unwrap();
    telemetry.flush();
    let names: Vec<String> = kept.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["lookup"], "exported while the root is open");
    go_on.send(()).unwrap();
    worker.join().unwrap();
    telemetry.shutdown();
    assert_eq!(kept.spans().len(), 2, "and the root when it ends");
}

#[spanwright::span(root)]
fn worker_loop() {
    for _ in 0..6 {
        held_child();
    }
    let _ = lookup(true);
    for _ in 0..3 {
        held_child();
    }
}

/// Under a long-lived root, decided window by window once a bound was reached:
/// one failure exports its window, not everything after it.
#[test]
fn a_long_lived_root_is_decided_window_by_window() {
    let _serial = serial();
    let _env = Env::set(&[("SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE", "5")]);
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    worker_loop();
    let stats = telemetry.shutdown();
    // Five children forced out (the bound), then a child and the failed lookup
    // exported (the failure), then three children and the root discarded.
    let mut names: Vec<String> = kept.spans().iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["held_child", "lookup"]);
    assert_eq!(stats.spans_forced_out, 5);
    assert_eq!(stats.spans_discarded_by_sampler, 4);
}
