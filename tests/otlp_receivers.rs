//! Export to real OTLP receivers, over gRPC and over HTTP/protobuf, read back and
//! checked: names, parent/child ids, kinds, typed attributes, events, status and
//! the resource's `service.name`. Also: a dead or hung collector neither slows the
//! application nor holds up shutdown, and a collector that restarts receives the
//! spans sent after it is back.

#[allow(dead_code)] // the shared helpers serve several test binaries
mod receivers;

use receivers::otelite::Otelite;
use receivers::rotel::Rotel;
use receivers::{Received, free_port};
use spanwright::{OtlpProtocol, Telemetry};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Telemetry is process-wide: the tests of this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
struct Declined;
impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

#[spanwright::span(
    name = "POST /checkout",
    kind = server,
    attrs(order.items = items, order.total = total, order.express = express, customer.tier = tier)
)]
fn checkout(items: u32, total: f64, express: bool, tier: &str) -> String {
    let _ = reserve(items);
    let _ = charge(total);
    spanwright::current().trace_id().expect("recording")
}

#[spanwright::span(name = "inventory.reserve", kind = client, attrs(items))]
fn reserve(items: u32) -> Result<u32, Declined> {
    Ok(items)
}

#[spanwright::span(name = "payments.charge", kind = client, attrs(amount = total))]
fn charge(total: f64) -> Result<(), Declined> {
    if total > 0.0 { Err(Declined) } else { Ok(()) }
}

/// How a receiver shows attribute values: with their wire type, or as text.
#[derive(Clone, Copy)]
enum Values {
    Typed,
    Text,
}

impl Values {
    fn show(self, typed: &str) -> String {
        match self {
            Values::Typed => typed.to_owned(),
            // `Int(3)` -> `3`
            Values::Text => typed
                .split_once('(')
                .map(|(_, v)| v.trim_end_matches(')').to_owned())
                .unwrap(),
        }
    }
}

/// Checks what a receiver reports for one `checkout` trace.
fn check_trace(spans: &[Received], service: &str, values: Values) {
    let value = |typed: &str| Some(values.show(typed));
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} missing: {spans:#?}"))
    };
    let root = find("POST /checkout");
    let reserve = find("inventory.reserve");
    let charge = find("payments.charge");
    assert_eq!(root.kind, "server");
    assert_eq!(reserve.kind, "client");
    assert!(
        root.parent_id.is_empty() || root.parent_id.chars().all(|c| c == '0'),
        "root has no parent: {root:?}"
    );
    assert_eq!(reserve.parent_id, root.span_id);
    assert_eq!(charge.parent_id, root.span_id);
    let attr = |span: &Received, key: &str| span.attr(key).map(str::to_owned);
    assert_eq!(attr(root, "order.items"), value("Int(3)"));
    assert_eq!(attr(root, "order.total"), value("Double(42.5)"));
    assert_eq!(attr(root, "order.express"), value("Bool(true)"));
    assert_eq!(attr(root, "customer.tier"), value("Str(gold)"));
    assert_eq!(
        attr(root, "code.function.name"),
        value("Str(otlp_receivers::checkout)")
    );
    assert_eq!(root.status, "unset");
    assert_eq!(charge.status, "error");
    assert_eq!(charge.status_message, "card declined");
    assert_eq!(
        attr(charge, "error.type"),
        value("Str(otlp_receivers::Declined)")
    );
    let (event, attributes) = &charge.events[0];
    assert_eq!(event, "exception");
    let message = (
        "exception.message".to_owned(),
        values.show("Str(card declined)"),
    );
    assert!(attributes.contains(&message), "{attributes:?}");
    assert!(spans.iter().all(|s| s.service_name == service), "{spans:?}");
}

fn export_checkout(protocol: OtlpProtocol, endpoint: String, service: &str) -> String {
    let telemetry = Telemetry::builder()
        .service_name(service)
        .otlp(protocol, endpoint)
        .install()
        .unwrap();
    let trace_id = checkout(3, 42.5, true, "gold");
    drop(telemetry);
    trace_id
}

/// Exports a `checkout` trace over gRPC and over HTTP/protobuf to a receiver
/// listening on `ports`, and checks what `read_back` returns for each.
fn round_trip(
    receiver: &str,
    (grpc_port, http_port): (u16, u16),
    values: Values,
    read_back: impl Fn(&str) -> Vec<Received>,
) {
    for (protocol, port, transport) in [
        (OtlpProtocol::Grpc, grpc_port, "grpc"),
        (OtlpProtocol::HttpProtobuf, http_port, "http"),
    ] {
        let service = format!("e2e-{receiver}-{transport}");
        let trace_id = export_checkout(protocol, format!("http://127.0.0.1:{port}"), &service);
        check_trace(&read_back(&trace_id), &service, values);
    }
}

#[test]
fn rotel_receives_over_grpc_and_http() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let _turn = serial();
    let rotel = Rotel::start();
    round_trip(
        "rotel",
        (rotel.grpc_port, rotel.http_port),
        Values::Typed,
        |trace_id| rotel.wait_for_trace(trace_id, 3),
    );
}

#[test]
fn otelite_stores_what_arrives_over_grpc_and_http() {
    if !spanwright_tests::services::otelite() {
        return;
    }
    let _turn = serial();
    let otelite = Otelite::start();
    round_trip(
        "otelite",
        (otelite.grpc_port, otelite.http_port),
        Values::Text,
        |trace_id| otelite.wait_for_trace(trace_id, 3),
    );
}

#[spanwright::span(attrs(batch, i))]
fn tick(batch: &str, i: u32) {}

#[test]
fn a_restarted_collector_receives_later_spans() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let _turn = serial();
    let [grpc, http] = receivers::free_ports::<2>();
    let rotel = Rotel::start_on(grpc, http);
    let telemetry = Telemetry::builder()
        .service_name("e2e-restart")
        .otlp(OtlpProtocol::Grpc, format!("http://127.0.0.1:{grpc}"))
        .shutdown_timeout(Duration::from_secs(3))
        .install()
        .unwrap();
    let arrived = |rotel: &Rotel, batch: &str| {
        rotel
            .spans()
            .iter()
            .filter(|s| s.attr("batch") == Some(&format!("Str({batch})")))
            .count()
    };
    (0..5).for_each(|i| tick("before", i));
    telemetry.flush();
    receivers::wait_for(Duration::from_secs(20), "the first batch", || {
        (arrived(&rotel, "before") == 5).then_some(())
    });

    rotel.stop();
    (0..5).for_each(|i| tick("during", i));
    telemetry.flush();

    let rotel = Rotel::start_on(grpc, http);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    // The exporter reconnects on its own; keep sending until a batch gets through.
    while arrived(&rotel, "after") == 0 {
        assert!(
            Instant::now() < deadline,
            "no span arrived after the collector restarted"
        );
        (0..5).for_each(|i| tick("after", round * 5 + i));
        telemetry.flush();
        round += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "restart: spans sent before {}, after the restart {} batch(es) until one arrived",
        5, round
    );
    drop(telemetry);
}

#[test]
fn a_dead_or_hung_collector_does_not_block() {
    let _turn = serial();
    let dead = free_port();
    // Accepts connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let _accepting = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hung.incoming().flatten() {
            held.push(stream);
        }
    });
    const CALLS: u32 = 20_000;
    let timed = |telemetry: Telemetry| {
        let start = Instant::now();
        for i in 0..CALLS {
            tick("load", i);
        }
        let calls = start.elapsed();
        let start = Instant::now();
        drop(telemetry);
        (calls, start.elapsed())
    };
    let baseline = timed(Telemetry::builder().no_export().install().unwrap()).0;
    for (what, protocol, port) in [
        ("dead gRPC collector", OtlpProtocol::Grpc, dead),
        ("dead HTTP collector", OtlpProtocol::HttpProtobuf, dead),
        ("hung gRPC collector", OtlpProtocol::Grpc, hung_port),
        ("hung HTTP collector", OtlpProtocol::HttpProtobuf, hung_port),
    ] {
        let telemetry = Telemetry::builder()
            .otlp(protocol, format!("http://127.0.0.1:{port}"))
            .shutdown_timeout(Duration::from_secs(2))
            .install()
            .unwrap();
        let (calls, shutdown) = timed(telemetry);
        println!(
            "{what}: {CALLS} calls in {calls:?} (no exporter: {baseline:?}); shutdown took {shutdown:?} (bound 2 s)"
        );
        assert!(
            shutdown < Duration::from_secs(4),
            "{what}: shutdown took {shutdown:?}"
        );
    }
}

#[spanwright::span(kind = client, attrs(step))]
async fn async_step(step: u32) -> u32 {
    tokio::task::yield_now().await;
    step
}

#[spanwright::span(name = "async.request", kind = server)]
async fn async_request() -> String {
    for step in 0..3 {
        tokio::spawn(
            spanwright::opentelemetry::trace::FutureExt::with_current_context(async_step(step)),
        )
        .await
        .unwrap();
    }
    spanwright::current().trace_id().expect("recording")
}

#[test]
fn init_inside_a_tokio_runtime_exports_and_shuts_down() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let _turn = serial();
    let rotel = Rotel::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let trace_id = runtime.block_on(async {
        // Installed, used and dropped (flushed) inside the runtime, as in `#[tokio::main]`.
        let telemetry = Telemetry::builder()
            .service_name("e2e-tokio")
            .otlp(
                OtlpProtocol::Grpc,
                format!("http://127.0.0.1:{}", rotel.grpc_port),
            )
            .install()
            .unwrap();
        let trace_id = async_request().await;
        let start = Instant::now();
        drop(telemetry);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "shutdown inside the runtime is bounded"
        );
        trace_id
    });
    let spans = rotel.wait_for_trace(&trace_id, 4);
    let root = spans.iter().find(|s| s.name == "async.request").unwrap();
    let steps: Vec<_> = spans.iter().filter(|s| s.name == "async_step").collect();
    assert_eq!(steps.len(), 3);
    assert!(
        steps
            .iter()
            .all(|s| s.parent_id == root.span_id && s.service_name == "e2e-tokio")
    );
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

#[spanwright::traced_job(name = "jobs.refuse")]
fn refusing_job(trace_id: &mut String) -> Result<(), Refused> {
    *trace_id = spanwright::current().trace_id().expect("recording");
    Err(Refused)
}

/// Every exporter of `OTEL_TRACES_EXPORTER` gets the same spans: a failed job
/// reaches the collector as `failed` whichever place `otlp` has in the list.
#[test]
fn every_exporter_of_a_list_gets_the_job_status() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    let _turn = serial();
    let rotel = Rotel::start();
    for exporters in ["console,otlp", "otlp,console"] {
        let vars = [
            ("OTEL_TRACES_EXPORTER", exporters.to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", rotel.grpc_port),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            ("OTEL_SERVICE_NAME", format!("e2e-list-{exporters}")),
        ];
        // SAFETY: the tests of this binary take turns (`serial`) and no other
        // thread reads the environment meanwhile.
        for (key, value) in &vars {
            unsafe { std::env::set_var(key, value) };
        }
        let telemetry = spanwright::init();
        for (key, _) in &vars {
            unsafe { std::env::remove_var(key) };
        }
        let telemetry = telemetry.expect("valid settings");
        let mut trace_id = String::new();
        assert!(refusing_job(&mut trace_id).is_err());
        drop(telemetry);
        let spans = rotel.wait_for_trace(&trace_id, 1);
        let job = &spans[0];
        assert_eq!(job.name, "jobs.refuse");
        assert_eq!(
            job.attr("job.status"),
            Some("Str(failed)"),
            "with {exporters}: {job:?}"
        );
        assert_eq!(job.status, "error");
    }
}
