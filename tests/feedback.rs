//! The exporter never traces itself: with the subscriber the crate docs show
//! (the bridge, span events and JSON logs, here with no level filter at all) and
//! OTLP/gRPC export to a real receiver, what tonic, hyper and h2 emit while
//! spanwright exports is never bridged, logged as a span event, or exported. Its
//! own binary: the subscriber is process-wide.

#[allow(dead_code)] // the shared helpers serve several test binaries
mod receivers;

use receivers::rotel::Rotel;
use spanwright::{OtlpProtocol, Telemetry};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

#[spanwright::span(name = "GET /health", kind = server)]
fn health() -> String {
    let _check = tracing::info_span!("health.check").entered();
    tracing::warn!("slow disk");
    spanwright::current().trace_id().expect("recording")
}

#[test]
fn an_idle_service_exports_only_what_it_made() {
    if !spanwright_tests::services::rotel() {
        return;
    }
    // Exports every 500 ms, so the 10 s below see many of them.
    // SAFETY: the only test of this binary, before any other thread starts.
    unsafe { std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "500") };
    let subscriber = tracing_subscriber::registry()
        .with(spanwright::tracing_layer())
        .with(spanwright::logs::SpanEvents::at(tracing::Level::WARN))
        .with(spanwright::logs::json_layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rotel = Rotel::start();
    let telemetry = Telemetry::builder()
        .service_name("e2e-feedback")
        .otlp(
            OtlpProtocol::Grpc,
            format!("http://127.0.0.1:{}", rotel.grpc_port),
        )
        .install()
        .unwrap();
    let trace_id = health();
    // Idle for 10 s: a self-feeding exporter exports its own spans every batch.
    std::thread::sleep(Duration::from_secs(10));
    let stats = telemetry.stats();
    drop(telemetry);
    let spans = rotel.wait_for_trace(&trace_id, 2);
    let mut by_name = BTreeMap::new();
    for span in rotel.spans() {
        *by_name.entry(span.name.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        by_name,
        BTreeMap::from([
            ("GET /health".to_owned(), 1),
            ("health.check".to_owned(), 1)
        ]),
        "nothing but what the application made"
    );
    assert_eq!(spans.len(), 2);
    assert_eq!(stats.spans_ended, 2, "{stats:?}");
}
