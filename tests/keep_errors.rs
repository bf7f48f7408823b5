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
    drop(telemetry);
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
fn root_with_late_child(root_fails: bool) -> Result<(Context, String), Failed> {
    let trace = spanwright::current().trace_id().expect("recorded");
    if root_fails {
        return Err(Failed);
    }
    Ok((Context::current(), trace))
}

#[test]
fn a_late_child_follows_its_traces_decision() {
    let _serial = serial();
    // Discarded: the root ended fine; the late child (fine too) is discarded.
    let kept = Kept::default();
    let telemetry = install(&kept, 0.0);
    let (cx, _) = root_with_late_child(false).unwrap();
    std::thread::spawn(move || {
        let _attached = cx.attach();
        let _ = late_child(false);
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

#[test]
fn an_open_root_holds_at_most_its_bound() {
    let _serial = serial();
    let telemetry = Telemetry::builder()
        .no_export()
        .keep_errors(0.0)
        .install()
        .unwrap();
    let before = spanwright_tests::peak_rss_mib();
    long_lived_root(500_000);
    let grown = spanwright_tests::peak_rss_mib() - before;
    let stats = telemetry.shutdown();
    // Held in windows of 1,000 (the default), each discarded as it filled.
    assert_eq!(stats.spans_forced_out, 500_000);
    assert_eq!(stats.spans_discarded_by_sampler, 1, "the root, at its end");
    // 500,000 held records would be over 100 MiB.
    assert!(grown < 40.0, "peak RSS grew {grown:.1} MiB");
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
    use tracing_subscriber::layer::SubscriberExt as _;
    let _serial = serial();
    let subscriber = tracing_subscriber::registry().with(spanwright::tracing_layer());
    let _default = tracing::subscriber::set_default(subscriber);
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
