//! spanwright's own span records, seen from OpenTelemetry code: hand-written
//! writes to the current span land in the record, SDK spans of hand-written code
//! and spanwright's nest both ways in one trace, and any sampler is asked (and
//! obeyed) as the SDK would ask it.

use spanwright::opentelemetry::global;
use spanwright::opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt, TraceId, TraceState, Tracer as _,
    get_active_span,
};
use spanwright::opentelemetry::{Context, KeyValue, Value};
use spanwright::opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, ShouldSample, SpanData,
};
use spanwright::testing::{Capture, SpanDataExt};
use spanwright::{Telemetry, inject};
use spanwright_tests::Kept;
use std::collections::HashMap;
use std::sync::Mutex;

/// One installation at a time in this binary.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs telemetry exporting to a `Kept`.
fn install_kept() -> (Telemetry, Kept) {
    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    (telemetry, kept)
}

#[spanwright::span]
fn annotated_with_hand_written_writes() {
    get_active_span(|span| {
        span.set_attribute(KeyValue::new("written.by", "hand"));
        span.add_event("checkpoint", vec![KeyValue::new("step", 2)]);
        span.set_status(Status::error("set by hand"));
        span.update_name("renamed");
    });
}

fn check_hand_written(span: &SpanData) {
    assert_eq!(span.name, "renamed");
    assert_eq!(span.attr("written.by"), Some(&Value::from("hand")));
    assert_eq!(
        span.event("checkpoint").map(|e| e.attributes.clone()),
        Some(vec![KeyValue::new("step", 2)])
    );
    assert_eq!(span.status, Status::error("set by hand"));
}

#[test]
fn hand_written_writes_land_in_the_record() {
    let ((), spans) = spanwright::testing::capture(annotated_with_hand_written_writes);
    check_hand_written(&spans[0]);

    let _serial = serial();
    let (telemetry, kept) = install_kept();
    annotated_with_hand_written_writes();
    telemetry.flush();
    check_hand_written(&kept.named("renamed"));
    drop(telemetry);
}

#[spanwright::span]
fn ours_around_theirs() {
    global::tracer("hand-written").in_span("theirs inside", |_| {
        ours_inside();
    });
}

#[spanwright::span]
fn ours_inside() {}

#[test]
fn sdk_spans_and_records_nest_both_ways_in_one_export() {
    let _serial = serial();
    let (telemetry, kept) = install_kept();
    global::tracer("hand-written").in_span("theirs outside", |_| ours_around_theirs());
    let stats = telemetry.shutdown();
    let (outside, ours, theirs, inner) = (
        kept.named("theirs outside"),
        kept.named("ours_around_theirs"),
        kept.named("theirs inside"),
        kept.named("ours_inside"),
    );
    let trace = outside.span_context.trace_id();
    for span in [&ours, &theirs, &inner] {
        assert_eq!(span.span_context.trace_id(), trace, "{}", span.name);
    }
    assert_eq!(ours.parent_span_id, outside.span_context.span_id());
    assert_eq!(theirs.parent_span_id, ours.span_context.span_id());
    assert_eq!(inner.parent_span_id, theirs.span_context.span_id());
    assert_eq!(theirs.instrumentation_scope.name(), "hand-written");
    assert_eq!(ours.instrumentation_scope.name(), "spanwright-tests");
    assert_eq!((stats.spans_ended, stats.spans_exported), (4, 4));
}

#[spanwright::span]
fn sampled_or_not() -> String {
    let mut headers = HashMap::new();
    inject(&mut headers);
    headers.remove("traceparent").unwrap_or_default()
}

/// A ratio sampler decides on the trace id: spanwright asks the SDK's own, and
/// exports exactly the traces it keeps.
#[test]
fn a_ratio_sampler_keeps_exactly_what_the_sdk_would() {
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .sampler(Sampler::TraceIdRatioBased(0.5))
        .install()
        .unwrap();
    let headers: Vec<String> = (0..400).map(|_| sampled_or_not()).collect();
    telemetry.shutdown();
    let sdk = Sampler::TraceIdRatioBased(0.5);
    let mut expected = Vec::new();
    for header in &headers {
        let trace_hex = header.split('-').nth(1).expect("a traceparent");
        let trace_id = TraceId::from_hex(trace_hex).unwrap();
        let decision = sdk
            .should_sample(
                None,
                trace_id,
                "sampled_or_not",
                &SpanKind::Internal,
                &[],
                &[],
            )
            .decision;
        let sampled_flag = header.ends_with("-01");
        assert_eq!(
            sampled_flag,
            decision == SamplingDecision::RecordAndSample,
            "{header}"
        );
        if sampled_flag {
            expected.push(trace_id.to_string());
        }
    }
    let mut exported: Vec<String> = kept
        .spans()
        .iter()
        .map(|s| s.span_context.trace_id().to_string())
        .collect();
    exported.sort();
    expected.sort();
    assert!(
        (100..300).contains(&expected.len()),
        "about half: {}",
        expected.len()
    );
    assert_eq!(exported, expected);
}

/// Records only, adds an attribute and a trace state: what a custom sampler
/// may do.
#[derive(Debug, Clone)]
struct RecordOnly;

impl ShouldSample for RecordOnly {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        name: &str,
        _kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        SamplingResult {
            decision: SamplingDecision::RecordOnly,
            attributes: vec![KeyValue::new("sampler.saw", name.to_owned())],
            trace_state: TraceState::from_key_value([("vendor", "x")]).unwrap(),
        }
    }
}

#[spanwright::span]
fn recorded_only() -> (SpanContext, bool) {
    let cx = Context::current();
    let span = cx.span();
    (span.span_context().clone(), span.is_recording())
}

#[test]
fn a_custom_sampler_is_asked_and_obeyed() {
    let ((context, recording), spans) = Capture::with_sampler(RecordOnly).run(recorded_only);
    assert!(recording);
    assert!(!context.is_sampled());
    assert_eq!(context.trace_state().get("vendor"), Some("x"));
    let span = &spans[0];
    assert_eq!(
        span.attr("sampler.saw"),
        Some(&Value::from("recorded_only"))
    );
    assert_eq!(span.span_context, context);

    // Installed: recorded, not exported.
    let _serial = serial();
    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .sampler(Sampler::ParentBased(Box::new(RecordOnly)))
        .install()
        .unwrap();
    let (context, recording) = recorded_only();
    assert!(context.is_valid() && !context.is_sampled());
    assert!(recording, "recorded, not dropped");
    let stats = telemetry.shutdown();
    assert!(kept.spans().is_empty());
    assert_eq!(stats.spans_ended, 0);
}

/// Export threads of this process (a thread's name is cut to 15 bytes).
fn export_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .filter(|name| name.trim() == "spanwright-expo")
                .count()
        })
        .unwrap_or(0)
}

fn wait_for_export_threads(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let now = export_threads();
        if now == expected || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An installation that fails after its first exporter's queue started (the
/// second exporter's certificate is missing) leaves no export thread behind.
#[test]
fn a_failed_installation_stops_the_queues_it_started() {
    let _serial = serial();
    assert_eq!(wait_for_export_threads(0), 0, "none before");
    // SAFETY: the variables are set and removed under SERIAL; no other test of
    // this binary reads them.
    unsafe {
        std::env::set_var("OTEL_TRACES_EXPORTER", "console,otlp");
        std::env::set_var("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem");
    }
    let result = spanwright::init();
    unsafe {
        std::env::remove_var("OTEL_TRACES_EXPORTER");
        std::env::remove_var("OTEL_EXPORTER_OTLP_CERTIFICATE");
    }
    assert!(result.is_err(), "{result:?}");
    assert_eq!(wait_for_export_threads(0), 0, "the console's queue stopped");
}

/// Panics at its first export, then exports.
#[derive(Debug, Clone, Default)]
struct PanicsOnce(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl spanwright::opentelemetry_sdk::trace::SpanExporter for PanicsOnce {
    async fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> spanwright::opentelemetry_sdk::error::OTelSdkResult {
        if self
            .0
            .fetch_add(batch.len(), std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            panic!("an exporter's bug");
        }
        Ok(())
    }
}

#[spanwright::span]
fn exported() {}

/// A panicking exporter loses its batch, counted as a failed export; the
/// export thread lives on and exports what follows.
#[test]
fn a_panicking_exporter_loses_a_batch_not_the_thread() {
    let _serial = serial();
    let exporter = PanicsOnce::default();
    let telemetry = Telemetry::builder()
        .exporter(exporter.clone())
        .on_diagnostic(|_| {})
        .install()
        .unwrap();
    exported();
    telemetry.flush();
    exported();
    exported();
    telemetry.flush();
    let stats = telemetry.shutdown();
    assert_eq!(stats.export_failures, 1);
    assert_eq!(stats.spans_lost_in_failed_exports, 1);
    assert_eq!(stats.spans_exported, 2);
    assert_eq!(exporter.0.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Each export's span names, in the order exported; every export slow.
#[derive(Debug, Clone, Default)]
struct Slow(std::sync::Arc<Mutex<Vec<Vec<String>>>>);

impl spanwright::opentelemetry_sdk::trace::SpanExporter for Slow {
    async fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> spanwright::opentelemetry_sdk::error::OTelSdkResult {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let names = batch.iter().map(|span| span.name.to_string()).collect();
        self.0.lock().unwrap().push(names);
        Ok(())
    }
}

#[spanwright::span(name = "n{i}")]
fn numbered(i: usize) {
    let _ = i;
}

/// Runs `install` with the `OTEL_*` variables `settings` set, and only then
/// (installation reads them once). Called under the serial lock.
fn installed_with<T>(settings: &[(&str, &str)], install: impl FnOnce() -> T) -> T {
    // SAFETY: set and removed under the serial lock; no other thread of this
    // binary reads the environment meanwhile.
    unsafe {
        for (variable, value) in settings {
            std::env::set_var(variable, value);
        }
    }
    let installed = install();
    unsafe {
        for (variable, _) in settings {
            std::env::remove_var(variable);
        }
    }
    installed
}

/// Batches of 4, sent at once when full, the delay too long to matter.
const BATCHES_OF_FOUR: [(&str, &str); 3] = [
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "1000"),
    ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
];

/// Installs telemetry exporting to a `Slow` in batches of four.
fn install_slow() -> (Telemetry, Slow) {
    let exporter = Slow::default();
    let telemetry = installed_with(&BATCHES_OF_FOUR, || {
        Telemetry::builder()
            .exporter(exporter.clone())
            .install()
            .unwrap()
    });
    (telemetry, exporter)
}

/// Spans sent so far, waiting up to 10 s for at least `at_least`.
fn sent(exporter: &Slow, at_least: usize) -> Vec<Vec<String>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let batches = exporter.0.lock().unwrap().clone();
        if batches.iter().map(Vec::len).sum::<usize>() >= at_least
            || std::time::Instant::now() > deadline
        {
            return batches;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// An export that falls behind: while spans keep coming, only whole batches
/// are sent (the list being filled waits), in order; at the shutdown the
/// rest; nothing is lost.
#[test]
fn an_export_that_falls_behind_sends_whole_batches_in_order() {
    let _serial = serial();
    let (telemetry, exporter) = install_slow();
    // Six spans at a time, each time as the export of what was full goes
    // on: whole batches are sent as they fill, never the two left over
    // (the list being filled waits for the delay, a flush or the shutdown).
    let mut made = 0;
    for _ in 0..31 {
        for _ in 0..6 {
            numbered(made);
            made += 1;
        }
        let whole = made / 4 * 4;
        let so_far = sent(&exporter, whole);
        assert!(so_far.iter().all(|b| b.len() == 4), "{so_far:?}");
        assert_eq!(so_far.iter().map(Vec::len).sum::<usize>(), whole);
    }
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 186, "{stats:?}");
    assert_eq!(stats.spans_dropped, 0, "{stats:?}");
    let batches = exporter.0.lock().unwrap().clone();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes[..46], [4; 46], "{sizes:?}");
    assert_eq!(sizes[46..], [2], "the rest at the shutdown: {sizes:?}");
    let names: Vec<String> = batches.into_iter().flatten().collect();
    let expected: Vec<String> = (0..186).map(|i| format!("n{i}")).collect();
    assert_eq!(names, expected);
}

/// A flush sends the full batches and the one being filled, in order.
#[test]
fn a_flush_sends_the_full_batches_and_the_one_being_filled() {
    let _serial = serial();
    let (telemetry, exporter) = install_slow();
    for i in 0..10 {
        numbered(i);
    }
    telemetry.flush();
    let batches = exporter.0.lock().unwrap().clone();
    let expected = [
        vec!["n0", "n1", "n2", "n3"],
        vec!["n4", "n5", "n6", "n7"],
        vec!["n8", "n9"],
    ];
    assert_eq!(batches, expected, "after the flush");
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 10, "{stats:?}");
}

/// Holds each export until released (or 10 s), saying when one has begun
/// and with how many spans.
#[derive(Debug, Clone)]
struct Gated {
    begun: std::sync::Arc<Mutex<std::sync::mpsc::Sender<usize>>>,
    release: std::sync::Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
}

impl spanwright::opentelemetry_sdk::trace::SpanExporter for Gated {
    async fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> spanwright::opentelemetry_sdk::error::OTelSdkResult {
        let _ = self.begun.lock().unwrap().send(batch.len());
        let wait = std::time::Duration::from_secs(10);
        let _ = self.release.lock().unwrap().recv_timeout(wait);
        Ok(())
    }
}

/// A batch leaves the queue's count as it is sent, one at a time: while an
/// export is held, the queue takes its size and no more, and each batch sent
/// makes room for one batch.
#[test]
fn the_queue_holds_its_size_and_the_batch_being_sent() {
    let _serial = serial();
    let (begun, begun_rx) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let exporter = Gated {
        begun: std::sync::Arc::new(Mutex::new(begun)),
        release: std::sync::Arc::new(Mutex::new(release_rx)),
    };
    let queue_of_eight = [
        BATCHES_OF_FOUR[0],
        ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
        BATCHES_OF_FOUR[2],
    ];
    let telemetry = installed_with(&queue_of_eight, || {
        Telemetry::builder()
            .exporter(exporter)
            .on_diagnostic(|_| {})
            .install()
            .unwrap()
    });
    let wait = std::time::Duration::from_secs(10);
    for i in 0..4 {
        numbered(i);
    }
    assert_eq!(
        begun_rx.recv_timeout(wait),
        Ok(4),
        "the first batch is sent"
    );
    // Held: the queue takes eight more (two full batches), not the ninth.
    for i in 4..13 {
        numbered(i);
    }
    assert_eq!(telemetry.stats().spans_dropped_queue_full, 1);
    release.send(()).unwrap();
    assert_eq!(begun_rx.recv_timeout(wait), Ok(4), "the second batch");
    // Room for the one batch that left, not for both that wait.
    for i in 13..22 {
        numbered(i);
    }
    assert_eq!(telemetry.stats().spans_dropped_queue_full, 1 + 5);
    drop(release);
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 16, "{stats:?}");
    assert_eq!(stats.spans_dropped, 6, "{stats:?}");
}

/// The longest delay the variable takes (`u64::MAX` ms) never comes due (on
/// Linux it fits in an `Instant`; where it does not, the queue checks); a
/// flush and the shutdown still send everything.
#[test]
fn a_delay_too_long_to_reach_still_exports() {
    let _serial = serial();
    let longest = u64::MAX.to_string();
    let (telemetry, kept) = installed_with(&[("OTEL_BSP_SCHEDULE_DELAY", &longest)], install_kept);
    exported();
    telemetry.flush();
    assert_eq!(kept.spans().len(), 1, "flushed");
    exported();
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 2, "{stats:?}");
    assert_eq!(kept.spans().len(), 2);
}

/// CPU time (clock ticks) of this process's export threads so far.
fn export_thread_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            (comm.trim() == "spanwright-expo").then_some(())?;
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            // After the command's closing parenthesis: utime and stime are
            // the 12th and 13th fields.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// With no delay a span is sent as soon as it is queued, and the export
/// thread sleeps while nothing is (it waits for a span, not for a time).
#[test]
fn a_zero_delay_sends_at_once_and_idles() {
    let _serial = serial();
    assert_eq!(wait_for_export_threads(0), 0, "no export thread left over");
    let (telemetry, kept) = installed_with(&[("OTEL_BSP_SCHEDULE_DELAY", "0")], install_kept);
    let before = export_thread_ticks();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let idle = export_thread_ticks() - before;
    // A thread that spins takes ~50 ticks in half a second.
    assert!(idle <= 5, "the idle export thread took {idle} ticks");
    exported();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while kept.spans().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(kept.spans().len(), 1, "sent without a flush");
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 1, "{stats:?}");
}
