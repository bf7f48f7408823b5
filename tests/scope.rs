//! A span's instrumentation scope is the package that holds the annotated
//! function (its name and version, as Cargo gave them where the macro
//! expanded), so that a backend or a filter can tell a library's spans from the
//! application's; the layers' own spans are spanwright's.

use spanwright::testing::{capture, capture_async};
use tower_layer::Layer as _;
use tower_service::Service as _;

#[spanwright::span]
fn local() {}

/// The installing test must not run beside the captures: a future made while
/// an installation is live belongs to it, not to a capture that polls it later.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn scope_of(span: &spanwright::opentelemetry_sdk::trace::SpanData) -> (String, Option<String>) {
    let scope = &span.instrumentation_scope;
    (scope.name().to_owned(), scope.version().map(str::to_owned))
}

#[test]
fn a_library_span_carries_the_librarys_name_and_version() {
    let _serial = serial();
    let (_, spans) = capture(|| spanwright_testlib::fetch("k"));
    assert_eq!(
        scope_of(&spans[0]),
        ("spanwright-testlib".to_owned(), Some("0.3.1".to_owned()))
    );
    let (_, spans) =
        spanwright_tests::block_on(capture_async(spanwright_testlib::fetch_async("k")));
    assert_eq!(scope_of(&spans[0]).0, "spanwright-testlib");
}

#[test]
fn the_applications_spans_carry_its_own() {
    let _serial = serial();
    let ((), spans) = capture(|| {
        local();
        spanwright_testlib::fetch("k");
    });
    let local = spans.named("local");
    assert_eq!(
        scope_of(local),
        (
            "spanwright-tests".to_owned(),
            Some(env!("CARGO_PKG_VERSION").to_owned())
        )
    );
    // One trace, two scopes.
    assert_eq!(scope_of(spans.named("fetch")).0, "spanwright-testlib");
}

#[derive(Clone)]
struct Ok200;

impl tower_service::Service<http::Request<()>> for Ok200 {
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(String::new())))
    }
}

#[test]
fn the_layers_spans_are_spanwrights() {
    let _serial = serial();
    let mut service = spanwright::http::ServerLayer::new().layer(Ok200);
    let (_, spans) = spanwright_tests::block_on(capture_async(async {
        drop(service.call(http::Request::new(())).await)
    }));
    assert_eq!(scope_of(&spans[0]).0, "spanwright");
}

#[test]
fn an_installation_keeps_the_scopes_apart() {
    let _serial = serial();
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    // Two threads meet the library's scope for the first time together.
    std::thread::scope(|threads| {
        for _ in 0..2 {
            threads.spawn(|| {
                for _ in 0..50 {
                    spanwright_testlib::fetch("k");
                    local();
                }
            });
        }
    });
    telemetry.flush();
    let spans = kept.spans();
    assert_eq!(spans.len(), 200);
    let library = spans.iter().filter(|s| s.name == "fetch");
    assert!(library.clone().count() == 100);
    for span in library {
        assert_eq!(
            scope_of(span),
            ("spanwright-testlib".to_owned(), Some("0.3.1".to_owned()))
        );
    }
    for span in spans.iter().filter(|s| s.name == "local") {
        assert_eq!(scope_of(span).0, "spanwright-tests");
    }
}

/// The library's other shapes (which `scripts/test` also compiles against the
/// lean build) record as they would in the application's own crate.
#[test]
fn every_shape_of_a_library_records_under_its_scope() {
    use spanwright::testing::SpanDataExt as _;
    use spanwright_testlib::shapes;
    let _serial = serial();
    let (result, spans) = capture(|| shapes::parse("port", " 8080 "));
    assert_eq!(result, Ok(8080));
    let span = spans.named("parse port");
    assert_eq!(span.attr("kind"), Some(&"port".into()));
    assert_eq!(span.attr("input.len"), Some(&6i64.into()));
    assert_eq!(span.attr("return.value"), Some(&8080i64.into()));
    assert_eq!(scope_of(span).0, "spanwright-testlib");
    let (result, spans) = capture(|| shapes::parse("port", "x"));
    assert!(result.is_err());
    assert!(spans.named("parse port").attr("error.type").is_some());

    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let headers = std::collections::HashMap::from([("traceparent".to_owned(), parent.to_owned())]);
    let (_, spans) = capture(|| shapes::handle(&headers));
    let (_, async_spans) =
        spanwright_tests::block_on(capture_async(shapes::handle_async(&headers)));
    for span in [&spans[0], &async_spans[0]] {
        assert_eq!(
            span.span_context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(span.attr("job.status"), Some(&"completed".into()));
        assert_eq!(scope_of(span).0, "spanwright-testlib");
    }
}
