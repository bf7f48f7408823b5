//! An application that sets up OpenTelemetry itself hands its provider over:
//! the annotated functions of its libraries are recorded through the
//! application's processors and exporter, nested under its own hand-written
//! spans, and uninstalling leaves the provider to the application.

use spanwright::opentelemetry::trace::{Tracer as _, TracerProvider as _};
use spanwright::opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};

#[test]
fn a_library_records_through_the_applications_provider() {
    let exported = spanwright_tests::Kept::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(exported.clone()))
        .build();
    let telemetry = spanwright::Telemetry::builder()
        .tracer_provider(provider.clone())
        .install()
        .unwrap();
    assert!(telemetry.describe().contains("the application's own"));
    provider.tracer("app").in_span("handle request", |_| {
        spanwright_testlib::keep::kept();
    });
    drop(telemetry);
    let spans = exported.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["fetch", "kept", "handle request"], "{spans:#?}");
    let span = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        span("kept").parent_span_id,
        span("handle request").span_context.span_id()
    );
    assert_eq!(
        span("fetch").parent_span_id,
        span("kept").span_context.span_id()
    );
    assert_eq!(
        span("kept").instrumentation_scope.name(),
        "spanwright-testlib"
    );

    // Uninstalled, not shut down: the application's provider still exports.
    provider.tracer("app").in_span("after", |_| {});
    assert_eq!(exported.spans().len(), 4);
    provider.shutdown().unwrap();
}
