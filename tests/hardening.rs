//! Faults a production service meets: re-entrant span starts while another thread
//! installs telemetry, a second installation, a job's attributes at the attribute
//! limit, and flushes against a collector that accepts and never answers. Every
//! test that could hang fails by its own timeout instead.
//!
//! These tests install telemetry (one installation per process at a time) and set
//! `OTEL_*` variables, so they take `SERIAL` first.

use spanwright::opentelemetry::trace::{Span as _, Status, TraceContextExt, Tracer as _};
use spanwright::opentelemetry::{Context, Value, global};
use spanwright::testing::SpanDataExt;
use spanwright::{InitError, Telemetry};
use spanwright_tests::Kept;
use std::collections::HashMap;
use std::fmt;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `work` on a thread and fails the test if it has not finished in `limit`
/// (a deadlock would leave it hanging; the test must not).
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    finished
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} did not finish in {limit:?}: deadlocked"))
}

// ---- 1. No lock is held while user code runs ----

#[spanwright::span]
fn inner() -> u32 {
    1
}

/// Its `Display` starts a span, as logging or metrics code in a `Display` might.
struct Loud;
impl fmt::Display for Loud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loud {}", inner())
    }
}

#[spanwright::span(attrs(value = %loud))]
fn outer(loud: &Loud) -> u32 {
    inner() + 1
}

/// A carrier whose lookups extract from another carrier: user code inside a
/// propagator call.
struct Reentrant;
impl spanwright::opentelemetry::propagation::Extractor for Reentrant {
    fn get(&self, key: &str) -> Option<&str> {
        let _ = spanwright::extract(&HashMap::<String, String>::new());
        (key == "traceparent").then_some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

#[spanwright::span(parent = &Reentrant)]
fn continued() {}

#[test]
fn user_code_in_span_start_does_not_deadlock_against_installs() {
    let _serial = serial();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let installer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut installs = 0;
            while !stop.load(Ordering::Relaxed) {
                let telemetry = Telemetry::builder().no_export().install().unwrap();
                drop(telemetry);
                installs += 1;
            }
            installs
        })
    };
    let calls = within(Duration::from_secs(60), "annotated calls", || {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(|| {
                    let mut returned = 0;
                    for _ in 0..3_000 {
                        returned += outer(&Loud);
                        continued();
                        let _ = spanwright::extract(&Reentrant);
                    }
                    returned
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .sum::<u32>()
    });
    stop.store(true, Ordering::Relaxed);
    let installs = installer.join().unwrap();
    // Each of the 6,000 calls returned its own value (2): none was lost or cut short.
    assert_eq!(calls, 12_000);
    assert!(installs > 0);
}

// ---- 5. One installation ----

#[test]
fn a_second_install_is_refused_before_anything_is_built() {
    let _serial = serial();
    let first = Telemetry::builder().no_export().install().unwrap();
    let second = Kept::default();
    let refused = Telemetry::builder().exporter(second.clone()).install();
    assert_eq!(refused.unwrap_err(), InitError::AlreadyInstalled);
    assert_eq!(
        second.resources_given(),
        0,
        "a pipeline was built for the refused install"
    );
    drop(first);
    // Once the first is gone, installing works again (the batch thread hands the
    // exporter its resource shortly after the build).
    let again = Telemetry::builder()
        .exporter(second.clone())
        .install()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.resources_given() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(second.resources_given(), 1);
    drop(again);
}

#[test]
fn dropping_telemetry_puts_the_global_provider_and_propagator_back() {
    let _serial = serial();
    let kept = Kept::default();
    // SAFETY of set_var: every test of this binary that reads the environment
    // holds SERIAL.
    unsafe { std::env::set_var("OTEL_PROPAGATORS", "baggage") };
    let telemetry = Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    unsafe { std::env::remove_var("OTEL_PROPAGATORS") };
    let fields: Vec<String> =
        global::get_text_map_propagator(|p| p.fields().map(str::to_owned).collect());
    assert_eq!(
        fields,
        ["baggage"],
        "OTEL_PROPAGATORS is the global propagator"
    );

    global::tracer("hand-written").in_span("while installed", |_| {});
    drop(telemetry);
    assert_eq!(kept.named("while installed").name, "while installed");

    // The no-op provider passes a remote parent through; a shut-down SDK provider
    // would give an empty span context instead.
    let remote = spanwright::extract(&spanwright_tests::traceparent(
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    ));
    let span = global::tracer("hand-written").start_with_context("after drop", &remote);
    assert_eq!(
        span.span_context().trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the global provider is still the shut-down one"
    );
    let cx = Context::current_with_span(span);
    assert!(!cx.span().is_recording());
    let fields: Vec<String> =
        global::get_text_map_propagator(|p| p.fields().map(str::to_owned).collect());
    assert!(fields.is_empty(), "{fields:?}");
}

// ---- 6. Limits ----

#[derive(Debug)]
struct Refused;
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused")
    }
}

#[spanwright::traced_job(attrs(a = 1, b = 2, c = 3, d = 4, e = 5, f = 6))]
fn crowded_job() -> Result<(), Refused> {
    spanwright::current().set_attribute("g", 7);
    Err(Refused)
}

#[test]
fn job_attributes_survive_the_attribute_count_limit() {
    let _serial = serial();
    let kept = Kept::default();
    unsafe { std::env::set_var("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4") };
    let telemetry = Telemetry::builder().exporter(kept.clone()).install();
    unsafe { std::env::remove_var("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") };
    let telemetry = telemetry.unwrap();
    assert!(crowded_job().is_err());
    drop(telemetry);
    let span = kept.named("crowded_job");
    assert_eq!(span.attributes.len(), 4, "{:?}", span.attributes);
    assert_eq!(span.attr("job.status"), Some(&Value::from("failed")));
    match span.attr("job.duration_ms") {
        Some(Value::F64(ms)) => assert!(*ms > 0.0, "{ms}"),
        other => panic!("job.duration_ms = {other:?}"),
    }
    assert_eq!(span.status, Status::error("refused"));
}

// ---- 4. Flush ----

/// A collector that accepts connections and never answers.
fn hung_collector() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in accepting.incoming().flatten() {
            held.push(stream);
        }
    });
    (listener, endpoint)
}

fn install_against_hung(endpoint: &str, flush: Option<Duration>) -> Telemetry {
    let mut builder = Telemetry::builder()
        .otlp(spanwright::OtlpProtocol::Grpc, endpoint)
        .shutdown_timeout(Duration::from_millis(300));
    if let Some(flush) = flush {
        builder = builder.flush_timeout(flush);
    }
    builder.install().unwrap()
}

#[spanwright::traced_job(flush)]
fn flushed_job() {}

#[spanwright::traced_job(flush)]
async fn flushed_async_job() {}

#[test]
fn a_sync_job_flush_is_bounded_by_one_second_by_default() {
    let _serial = serial();
    let (_collector, endpoint) = hung_collector();
    let telemetry = install_against_hung(&endpoint, None);
    let took = within(Duration::from_secs(30), "the flushed job", || {
        let started = Instant::now();
        flushed_job();
        started.elapsed()
    });
    drop(telemetry);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2_500),
        "flush took {took:?}, the bound is 1 s"
    );
}

#[test]
fn the_flush_bound_is_set_in_the_builder() {
    let _serial = serial();
    let (_collector, endpoint) = hung_collector();
    let telemetry = install_against_hung(&endpoint, Some(Duration::from_millis(200)));
    let started = Instant::now();
    flushed_job();
    let took = started.elapsed();
    drop(telemetry);
    assert!(took < Duration::from_millis(900), "flush took {took:?}");
}

#[test]
fn an_async_job_flush_does_not_block_its_thread() {
    let _serial = serial();
    let (_collector, endpoint) = hung_collector();
    let telemetry = install_against_hung(&endpoint, None);
    let (took, ticks) = within(Duration::from_secs(30), "the async flushed job", || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            // A task on the same (only) thread: it ticks only if the flush yields.
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = Arc::clone(&ticks);
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        ticks.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            let started = Instant::now();
            flushed_async_job().await;
            let took = started.elapsed();
            ticker.abort();
            (took, ticks.load(Ordering::Relaxed))
        })
    });
    drop(telemetry);
    assert!(took < Duration::from_millis(2_500), "flush took {took:?}");
    assert!(
        ticks >= 20,
        "the executor's thread was blocked during the flush: {ticks} ticks in {took:?}"
    );
}

// ---- A replaced installation is released; any Duration is accepted ----

/// Notes when it is dropped: captured by the installation's diagnostics
/// callback, it lives exactly as long as the provider's processors do (the
/// exporter itself is dropped by the batch thread at shutdown either way).
struct NotesDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for NotesDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[spanwright::span]
fn on_a_worker() {}

#[test]
fn an_uninstalled_pipeline_is_released_by_every_thread() {
    let _serial = serial();
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = NotesDrop(Arc::clone(&dropped));
    let telemetry = Telemetry::builder()
        .exporter(Kept::default())
        .on_diagnostic(move |_| {
            let _ = &held;
        })
        .install()
        .unwrap();
    // A worker thread records a span, then idles (it never starts another).
    let (recorded, recorded_rx) = mpsc::channel();
    let (finish, finish_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        on_a_worker();
        recorded.send(()).unwrap();
        let _ = finish_rx.recv();
    });
    recorded_rx.recv().unwrap();
    drop(telemetry);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dropped.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let released = dropped.load(Ordering::Relaxed);
    finish.send(()).unwrap();
    worker.join().unwrap();
    assert!(
        released,
        "the idle worker's handle kept the uninstalled provider (its processors and queue) alive"
    );
}

#[spanwright::traced_job(flush)]
fn flushed_forever() -> u8 {
    7
}

#[spanwright::traced_job(flush)]
async fn flushed_forever_async() -> u8 {
    8
}

#[test]
fn any_duration_is_accepted() {
    let _serial = serial();
    let telemetry = Telemetry::builder()
        .no_export()
        .flush_timeout(Duration::MAX)
        .shutdown_timeout(Duration::MAX)
        .install()
        .unwrap();
    assert_eq!(
        within(Duration::from_secs(20), "a flush", flushed_forever),
        7
    );
    let async_flush = within(Duration::from_secs(20), "an async flush", || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(flushed_forever_async())
    });
    assert_eq!(async_flush, 8);
    drop(telemetry);
}
