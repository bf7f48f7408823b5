//! Metrics beside traces, as a real OTLP receiver (Rotel) got them: job
//! durations by outcome, `#[span(metrics)]` call counts, exemplars that are the
//! ids of spans the receiver got, counts that stay complete when no trace is
//! sampled, and nothing sent when metrics or telemetry are turned off.

#[allow(dead_code)] // this test uses Rotel only
mod receivers;

use receivers::rotel::{ReceivedPoint, Rotel};
use spanwright::opentelemetry_sdk::trace::Sampler;
use spanwright::{OtlpProtocol, Telemetry};
use spanwright_tests::services;
use std::future::Future as _;
use std::sync::{Mutex, MutexGuard};

/// One installation at a time, and the environment changes only under it.
static SERIAL: Mutex<()> = Mutex::new(());

const VARIABLES: &[&str] = &[
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// Holds the lock with only `vars` of `VARIABLES` set.
fn env(vars: &[(&str, String)]) -> MutexGuard<'static, ()> {
    spanwright_tests::environment(&SERIAL, VARIABLES, vars)
}

/// The job statuses of the issue: 7 complete, 2 fail, 1 panics.
#[spanwright::traced_job]
fn process(n: u32) -> Result<u32, std::num::ParseIntError> {
    match n {
        3 | 6 => "x".parse(),
        8 => panic!("job {n} panicked"),
        _ => Ok(n),
    }
}

fn run_jobs() {
    for n in 0..10 {
        let _ = std::panic::catch_unwind(|| process(n));
    }
}

#[spanwright::span(metrics)]
fn lookup(n: u32) -> Result<u32, String> {
    if n.is_multiple_of(3) {
        Err(format!("{n} not found"))
    } else {
        Ok(n)
    }
}

/// Neither `metrics` nor a job: no metric.
#[spanwright::span]
fn plain() {}

fn grpc(rotel: &Rotel) -> String {
    format!("http://127.0.0.1:{}", rotel.grpc_port)
}

/// As `env`, with the generic OTLP variables pointing at `rotel` over gRPC
/// (what `init()` reads).
fn env_to(rotel: &Rotel, vars: &[(&str, String)]) -> MutexGuard<'static, ()> {
    let mut all = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", grpc(rotel)),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
    ];
    all.extend(vars.iter().cloned());
    env(&all)
}

/// The count of `function.calls` with `result`.
fn by_result<'a>(calls: &'a [ReceivedPoint], result: &str) -> Option<&'a str> {
    calls
        .iter()
        .find(|p| p.attr("result") == Some(&format!("Str({result})")))
        .and_then(|p| p.value.as_deref())
}

/// Telemetry exporting spans, and so metrics, to `rotel` over gRPC.
fn install_to(rotel: &Rotel) -> Telemetry {
    Telemetry::builder()
        .otlp(OtlpProtocol::Grpc, grpc(rotel))
        .install()
        .unwrap()
}

fn by_status(points: &[ReceivedPoint], status: &str) -> ReceivedPoint {
    points
        .iter()
        .find(|p| p.attr("job.status") == Some(&format!("Str({status})")))
        .unwrap_or_else(|| panic!("no job.status={status} in {points:#?}"))
        .clone()
}

const JOB_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 1800.0, 3600.0,
];

#[test]
fn job_durations_count_every_outcome_with_exemplars_of_received_spans() {
    if !services::rotel() {
        return;
    }
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = install_to(&rotel);
    run_jobs();
    plain();
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_exported, 11);

    let points = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 10
    });
    assert_eq!(points.len(), 3, "{points:#?}");
    let (completed, failed, panicked) = (
        by_status(&points, "completed"),
        by_status(&points, "failed"),
        by_status(&points, "panicked"),
    );
    assert_eq!(
        (completed.count, failed.count, panicked.count),
        (Some(7), Some(2), Some(1))
    );
    assert_eq!(completed.attr("job.name"), Some("Str(process)"));
    assert_eq!(completed.attr("error.type"), None);
    assert_eq!(
        failed.attr("error.type"),
        Some("Str(core::num::error::ParseIntError)")
    );
    assert_eq!(panicked.attr("error.type"), Some("Str(panic)"));
    for point in [&completed, &failed, &panicked] {
        assert_eq!(
            (point.unit.as_str(), point.data_type.as_str()),
            ("s", "Histogram")
        );
        assert_eq!(point.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
        assert_eq!(point.bounds, JOB_BOUNDS);
        assert_eq!(point.buckets.iter().sum::<u64>(), point.count.unwrap());
        assert!(point.attr("job.id").is_none());
    }
    // Every exemplar is a span the receiver got, of the same outcome.
    let spans = receivers::wait_for(std::time::Duration::from_secs(20), "11 spans", || {
        let spans = rotel.spans();
        (spans.len() >= 11).then_some(spans)
    });
    let mut exemplars = 0;
    for point in [&completed, &failed, &panicked] {
        for (trace_id, span_id) in &point.exemplars {
            let span = spans
                .iter()
                .find(|s| &s.trace_id == trace_id && &s.span_id == span_id)
                .unwrap_or_else(|| panic!("exemplar {trace_id}/{span_id} is no received span"));
            assert_eq!(span.name, "process");
            assert_eq!(span.attr("job.status"), point.attr("job.status"));
            exemplars += 1;
        }
    }
    assert!(exemplars >= 3, "one per outcome at least: {exemplars}");
    rotel.stop();
}

#[test]
fn function_calls_are_counted_by_result() {
    if !services::rotel() {
        return;
    }
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = install_to(&rotel);
    for n in 0..9 {
        let _ = lookup(n);
    }
    drop(telemetry);
    let calls = rotel.wait_for_metric("function.calls", |points| {
        points
            .iter()
            .filter_map(|p| p.value.as_deref()?.parse::<u64>().ok())
            .sum::<u64>()
            == 9
    });
    assert_eq!(
        (by_result(&calls, "ok"), by_result(&calls, "error")),
        (Some("6"), Some("3"))
    );
    for point in &calls {
        assert_eq!(point.attr("function"), Some("Str(lookup)"));
        assert_eq!(point.attr("module"), Some("Str(metrics)"));
        assert_eq!(
            (point.data_type.as_str(), point.monotonic),
            ("Sum", Some(true))
        );
        assert_eq!(point.unit, "{call}");
    }
    let durations = rotel.wait_for_metric("function.calls.duration", |p| {
        p.iter().any(|p| p.count == Some(9))
    });
    assert_eq!(durations.len(), 1, "{durations:#?}");
    let duration = &durations[0];
    assert_eq!(duration.count, Some(9));
    assert_eq!(
        duration.attributes.len(),
        2,
        "function and module only: {duration:?}"
    );
    assert_eq!(duration.unit, "s");
    assert_eq!(duration.bounds.first(), Some(&0.005));
    assert_eq!(duration.bounds.last(), Some(&10.0));
    rotel.stop();
}

#[test]
fn counts_stay_complete_when_no_trace_is_sampled() {
    if !services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    // Everything from the environment, as `init()` reads it.
    let _env = env_to(
        &rotel,
        &[
            ("OTEL_TRACES_SAMPLER", "traceidratio".into()),
            ("OTEL_TRACES_SAMPLER_ARG", "0.0".into()),
        ],
    );
    let telemetry = spanwright::init().unwrap();
    assert!(
        telemetry
            .describe()
            .contains("metrics.exporter = otlp (default)")
    );
    run_jobs();
    for n in 0..9 {
        let _ = lookup(n);
    }
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_ended, 0, "no span was sampled");
    let jobs = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 10
    });
    assert_eq!(by_status(&jobs, "failed").count, Some(2));
    assert_eq!(by_status(&jobs, "panicked").count, Some(1));
    let durations = rotel.wait_for_metric("function.calls.duration", |p| p[0].count == Some(9));
    // An exemplar points at a sampled span: there is none.
    assert!(
        jobs.iter()
            .chain(&durations)
            .all(|p| p.exemplars.is_empty()),
        "{jobs:#?}"
    );
    assert!(rotel.spans().is_empty());
    rotel.stop();
}

#[test]
fn metrics_go_out_every_interval() {
    if !services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    let _env = env_to(&rotel, &[("OTEL_METRIC_EXPORT_INTERVAL", "200".into())]);
    let telemetry = spanwright::init().unwrap();
    run_jobs();
    // Telemetry stays installed: the interval's export brings them.
    let jobs = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 10
    });
    assert_eq!(by_status(&jobs, "completed").count, Some(7));
    drop(telemetry);
    rotel.stop();
}

#[test]
fn nothing_is_sent_when_metrics_or_telemetry_are_off() {
    if !services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    {
        let _env = env_to(&rotel, &[("OTEL_METRICS_EXPORTER", "none".into())]);
        let telemetry = spanwright::init().unwrap();
        assert!(
            telemetry
                .describe()
                .contains("metrics.exporter = none (OTEL_METRICS_EXPORTER)")
        );
        run_jobs();
        drop(telemetry);
        // The spans went out at the same shutdown as metrics would have.
        receivers::wait_for(std::time::Duration::from_secs(20), "10 spans", || {
            (rotel.spans().len() == 10).then_some(())
        });
    }
    {
        let _env = env_to(&rotel, &[("OTEL_SDK_DISABLED", "true".into())]);
        let telemetry = spanwright::init().unwrap();
        assert!(!telemetry.is_enabled());
        run_jobs();
        drop(telemetry);
    }
    // Absence cannot be polled for: a short wait for anything late, then no
    // metric, and no span beyond the first ten.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(rotel.metric_points().is_empty(), "{}", rotel.output());
    assert_eq!(rotel.spans().len(), 10);
    rotel.stop();
}

#[test]
fn a_sampler_set_in_code_is_kept_apart_from_metrics() {
    if !services::rotel() {
        return;
    }
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = Telemetry::builder()
        .otlp(OtlpProtocol::Grpc, grpc(&rotel))
        .sampler(Sampler::AlwaysOff)
        .install()
        .unwrap();
    for n in 0..9 {
        let _ = lookup(n);
    }
    telemetry.flush();
    let calls = rotel.wait_for_metric("function.calls", |points| points.len() == 2);
    assert_eq!(
        (by_result(&calls, "ok"), by_result(&calls, "error")),
        (Some("6"), Some("3"))
    );
    let durations = rotel.wait_for_metric("function.calls.duration", |p| p[0].count == Some(9));
    assert!(
        durations[0].exemplars.is_empty(),
        "no sampled span: {durations:?}"
    );
    drop(telemetry);
    rotel.stop();
}

async fn user(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    id.to_string()
}

async fn failing() -> (http::StatusCode, &'static str) {
    (http::StatusCode::INTERNAL_SERVER_ERROR, "broken")
}

/// One GET over HTTP/1.1; its status code.
fn get(addr: std::net::SocketAddr, path: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let text = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn server_requests_by_route_and_status_code() {
    if !services::rotel() {
        return;
    }
    use axum::routing::get as route;
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = install_to(&rotel);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/users/{id}", route(user))
        .route("/fail", route(failing))
        .layer(spanwright::http::ServerLayer::new());
    runtime.spawn(async move { axum::serve(listener, app).await });
    for id in 0..3 {
        assert_eq!(get(addr, &format!("/users/{id}")), 200);
    }
    assert_eq!(get(addr, "/fail"), 500);
    assert_eq!(get(addr, "/fail"), 500);
    assert_eq!(get(addr, "/nowhere"), 404);
    drop(telemetry);
    drop(runtime);

    let requests = rotel.wait_for_metric("http.server.request.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 6
    });
    let with = |code: &str| {
        requests
            .iter()
            .find(|p| p.attr("http.response.status_code") == Some(&format!("Int({code})")))
            .unwrap_or_else(|| panic!("no {code} in {requests:#?}"))
    };
    let (ok, failed, missing) = (with("200"), with("500"), with("404"));
    assert_eq!(
        (ok.count, failed.count, missing.count),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(ok.attr("http.route"), Some("Str(/users/{id})"));
    assert_eq!(ok.attr("http.request.method"), Some("Str(GET)"));
    assert_eq!(ok.attr("url.scheme"), Some("Str(http)"));
    assert_eq!(ok.attr("network.protocol.version"), Some("Str(1.1)"));
    assert_eq!(ok.attr("error.type"), None);
    assert_eq!(failed.attr("error.type"), Some("Str(500)"));
    assert_eq!(missing.attr("http.route"), None, "no route matched");
    assert_eq!(
        missing.attr("error.type"),
        None,
        "a 404 is the client's error"
    );
    for point in &requests {
        assert_eq!(
            (point.unit.as_str(), point.data_type.as_str()),
            ("s", "Histogram")
        );
        assert_eq!(
            point.bounds,
            [
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
            ]
        );
        assert!(point.attr("url.path").is_none(), "never a path: {point:?}");
    }
    let spans = receivers::wait_for(std::time::Duration::from_secs(20), "6 spans", || {
        let spans = rotel.spans();
        (spans.len() >= 6).then_some(spans)
    });
    let exemplars: Vec<_> = requests.iter().flat_map(|p| &p.exemplars).collect();
    assert!(
        exemplars.len() >= 3,
        "one per status code at least: {requests:#?}"
    );
    for (trace_id, span_id) in exemplars {
        assert!(
            spans
                .iter()
                .any(|s| &s.trace_id == trace_id && &s.span_id == span_id && s.kind == "server"),
            "exemplar {trace_id}/{span_id} is a received server span"
        );
    }
    let active = rotel.wait_for_metric("http.server.active_requests", |p| {
        p.iter().all(|p| p.value.is_some())
    });
    assert_eq!(active.len(), 1, "{active:#?}");
    assert_eq!(active[0].value.as_deref(), Some("0"), "every request ended");
    assert_eq!(active[0].monotonic, Some(false));
    assert_eq!(active[0].attr("http.request.method"), Some("Str(GET)"));
    rotel.stop();
}

/// Returns `Pending` once, then `Ready`.
#[derive(Default)]
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        task: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        task.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[spanwright::traced_job]
async fn consume(n: u32) -> Result<u32, String> {
    YieldOnce::default().await;
    if n == 0 { Err("empty".into()) } else { Ok(n) }
}

#[test]
fn async_jobs_and_cancelled_ones_over_otlp_http_to_the_metrics_endpoint() {
    if !services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    // Spans go nowhere; metrics to their own endpoint, over HTTP, whatever the
    // generic endpoint says (nothing listens there).
    let dead = receivers::free_port();
    let _env = env(&[
        ("OTEL_TRACES_EXPORTER", "none".into()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{dead}"),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("http://127.0.0.1:{}/v1/metrics", rotel.http_port),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "http/protobuf".into(),
        ),
    ]);
    let telemetry = spanwright::init().unwrap();
    let described = telemetry.describe();
    assert!(
        described.contains(&format!(
            "metrics.otlp.endpoint = http://127.0.0.1:{}/v1/metrics (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)",
            rotel.http_port
        )),
        "{described}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for n in 0..4 {
        let _ = runtime.block_on(consume(n));
    }
    // Polled once (it waits), then dropped: cancelled.
    {
        let mut cancelled = std::pin::pin!(consume(7));
        let mut task = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(cancelled.as_mut().poll(&mut task).is_pending());
    }
    drop(telemetry);
    let jobs = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 5
    });
    assert_eq!(by_status(&jobs, "completed").count, Some(3));
    assert_eq!(by_status(&jobs, "failed").count, Some(1));
    let cancelled = by_status(&jobs, "cancelled");
    assert_eq!(cancelled.count, Some(1));
    assert_eq!(cancelled.attr("error.type"), None);
    assert_eq!(cancelled.attr("job.name"), Some("Str(consume)"));
    rotel.stop();
}

#[test]
fn a_collector_set_in_code_is_followed_unless_the_metrics_variables_say_otherwise() {
    if !services::rotel() {
        return;
    }
    let rotel = Rotel::start();
    // `OTEL_METRICS_EXPORTER=otlp` (the default's own value) with spans sent to
    // a collector set in code: metrics go there too.
    {
        let _env = env(&[("OTEL_METRICS_EXPORTER", "otlp".into())]);
        let telemetry = Telemetry::builder()
            .otlp(OtlpProtocol::Grpc, grpc(&rotel))
            .install()
            .unwrap();
        let _ = lookup(1);
        drop(telemetry);
        rotel.wait_for_metric("function.calls", |p| p[0].value.as_deref() == Some("1"));
    }
    // Spans to a collector in code where nothing listens; metrics to their own
    // endpoint and protocol, which win.
    let dead = receivers::free_port();
    let _env = env(&[
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("http://127.0.0.1:{}/v1/metrics", rotel.http_port),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "http/protobuf".into(),
        ),
    ]);
    let telemetry = Telemetry::builder()
        .otlp(OtlpProtocol::Grpc, format!("http://127.0.0.1:{dead}"))
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .install()
        .unwrap();
    for n in 0..3 {
        let _ = lookup(n);
    }
    telemetry.flush();
    let calls = rotel.wait_for_metric("function.calls", |p| {
        p.iter()
            .filter_map(|p| p.value.as_deref()?.parse::<u64>().ok())
            .sum::<u64>()
            == 3
    });
    assert_eq!(calls.len(), 2, "ok and error: {calls:#?}");
    drop(telemetry);
    rotel.stop();
}

#[test]
fn a_capture_records_no_metric_of_the_installation() {
    if !services::rotel() {
        return;
    }
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = install_to(&rotel);
    let (_, captured) = spanwright::testing::capture(|| {
        let _ = lookup(1);
        let _ = lookup(2);
    });
    assert_eq!(captured.len(), 2, "the capture got its spans");
    let _ = lookup(4);
    drop(telemetry);
    let calls = rotel.wait_for_metric("function.calls", |_| true);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(
        calls[0].value.as_deref(),
        Some("1"),
        "only the call outside the capture"
    );
    rotel.stop();
}

#[test]
fn a_provider_handed_over_still_records_job_metrics() {
    if !services::rotel() {
        return;
    }
    use spanwright::opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
    let rotel = Rotel::start();
    // A provider handed over exports spans itself; metrics only when asked for.
    let _env = env_to(&rotel, &[("OTEL_METRICS_EXPORTER", "otlp".into())]);
    let kept = spanwright_tests::Kept::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(kept.clone()))
        .build();
    let telemetry = Telemetry::builder()
        .tracer_provider(provider.clone())
        .install()
        .unwrap();
    run_jobs();
    drop(telemetry);
    let jobs = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 10
    });
    assert_eq!(by_status(&jobs, "failed").count, Some(2));
    // Each exemplar is one of the provider's own spans.
    let spans = kept.spans();
    assert_eq!(spans.len(), 10);
    let exemplars: Vec<_> = jobs.iter().flat_map(|p| &p.exemplars).collect();
    assert!(!exemplars.is_empty());
    for (trace_id, span_id) in exemplars {
        assert!(
            spans
                .iter()
                .any(|s| s.span_context.trace_id().to_string() == *trace_id
                    && s.span_context.span_id().to_string() == *span_id),
            "exemplar {trace_id}/{span_id} is one of the provider's spans"
        );
    }
    let _ = provider.shutdown();
    rotel.stop();
}

#[spanwright::traced_job(flush)]
fn one_shot(n: u32) -> Result<u32, String> {
    if n == 0 { Err("nothing".into()) } else { Ok(n) }
}

#[test]
fn a_jobs_flush_exports_its_metrics_too() {
    if !services::rotel() {
        return;
    }
    let _env = env(&[]);
    let rotel = Rotel::start();
    let telemetry = install_to(&rotel);
    let _ = one_shot(0);
    let _ = one_shot(1);
    // Still installed, the interval a minute away: only the job's flush can
    // have sent them (a one-shot job may exit without dropping `Telemetry`).
    let jobs = rotel.wait_for_metric("job.duration", |points| {
        points.iter().filter_map(|p| p.count).sum::<u64>() == 2
    });
    assert_eq!(by_status(&jobs, "failed").count, Some(1));
    drop(telemetry);
    rotel.stop();
}
