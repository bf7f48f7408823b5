//! The no-op path, in a process where nothing is ever installed or captured.

use spanwright::opentelemetry::Context;
use spanwright::opentelemetry::trace::TraceContextExt;
use spanwright_tests::{block_on, traceparent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted<T>(value: T) -> T {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    value
}

#[spanwright::span(
    name = "job.{kind}",
    parent = counted(carrier),
    links(counted(carrier)),
    attrs(x = counted(x), shown = %counted(kind), dbg = ?counted(x)),
    ret
)]
fn sync_work(x: u64, kind: &str, carrier: &HashMap<String, String>) -> Result<u64, String> {
    assert!(
        !Context::current().has_active_span(),
        "no span on the disabled path"
    );
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x * 2)
    }
}

#[spanwright::span(attrs(x = counted(x)))]
async fn async_work(x: u64) -> u64 {
    assert!(!Context::current().has_active_span());
    x + 1
}

#[spanwright::traced_job(id = counted(x), attempt = counted(1_u32), flush)]
fn job(x: u64) -> u64 {
    x
}

fn set(var: &str, value: Option<&str>) {
    // SAFETY: this binary's one test is the only thread touching the environment.
    unsafe {
        match value {
            Some(v) => std::env::set_var(var, v),
            None => std::env::remove_var(var),
        }
    }
}

#[test]
fn nothing_is_evaluated_or_recorded_when_disabled() {
    let carrier = traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    assert!(!spanwright::enabled());
    assert_eq!(sync_work(4, "resize", &carrier), Ok(8));
    assert_eq!(sync_work(0, "resize", &carrier), Err("zero".into()));
    assert_eq!(block_on(async_work(1)), 2);
    assert_eq!(job(5), 5);
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "no attribute, parent or link expression ran"
    );
    assert_eq!(spanwright::current().trace_id(), None);

    // Turned off by the environment: init succeeds and installs nothing.
    for (var, value) in [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_ENABLED", "false"),
        ("OTEL_SDK_DISABLED", "TRUE"),
    ] {
        set(var, Some(value));
        let telemetry = spanwright::init().expect("disabled is not an error");
        assert!(!telemetry.is_enabled(), "{var}={value}");
        assert!(!spanwright::enabled());
        assert_eq!(sync_work(1, "k", &carrier), Ok(2));
        assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
        set(var, None);
    }

    // A bad value is an error naming the variable, the value and what is accepted.
    set("OTEL_SDK_DISABLED", Some("maybe"));
    let error = spanwright::init().unwrap_err().to_string();
    assert_eq!(
        error,
        "OTEL_SDK_DISABLED=\"maybe\" is not valid: true or false"
    );
    set("OTEL_SDK_DISABLED", None);
    assert!(!spanwright::enabled());
}

/// A service that keeps the headers it was sent.
#[derive(Clone, Default)]
struct Keeps(std::sync::Arc<std::sync::Mutex<Option<http::HeaderMap>>>);

impl tower_service::Service<http::Request<String>> for Keeps {
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<String>) -> Self::Future {
        *self.0.lock().unwrap() = Some(request.headers().clone());
        std::future::ready(Ok(http::Response::new("ok".to_owned())))
    }
}

#[test]
fn the_http_layers_pass_through_when_disabled() {
    use tower_layer::Layer as _;
    use tower_service::Service as _;
    assert!(!spanwright::enabled());
    let kept = Keeps::default();
    let mut client = spanwright::http::ClientLayer::new().layer(kept.clone());
    let mut server = spanwright::http::ServerLayer::new().layer(kept.clone());
    let request = || {
        http::Request::get("http://127.0.0.1:1/x")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(String::new())
            .unwrap()
    };
    let response = block_on(
        client.call(
            http::Request::get("http://127.0.0.1:1/x")
                .body(String::new())
                .unwrap(),
        ),
    );
    assert_eq!(response.unwrap().body().inner(), "ok");
    let headers = kept.0.lock().unwrap().take().unwrap();
    assert!(
        headers.get("traceparent").is_none(),
        "nothing injected: {headers:?}"
    );
    let response = block_on(server.call(request()));
    assert!(response.is_ok());
    assert!(!Context::current().has_active_span());
}
