//! `spanwright::http::ServerLayer` on a real axum server on loopback, called by a
//! plain HTTP/1.1 client over TCP: one server span per request, named after the
//! matched route, continuing a valid `traceparent` and ignoring a malformed one;
//! 5xx and panics are errors, a 404 is not; the server keeps serving after a
//! panicking handler; annotated functions in a handler nest under the span; a
//! reqwest call injected from a client span arrives as its child.

use axum::Router;
use axum::routing::get;
use spanwright::http::ServerLayer;
use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::{SpanId, SpanKind, Status};
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::SpanDataExt;
use std::future::Future as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[spanwright::span]
async fn load(id: u64) -> u64 {
    id * 2
}

async fn job(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    load(id).await.to_string()
}

async fn broken() -> (http::StatusCode, &'static str) {
    (http::StatusCode::SERVICE_UNAVAILABLE, "down")
}

async fn explode() -> &'static str {
    panic!("handler exploded")
}

/// A reqwest call from a client span, its trace context in the request's headers.
#[spanwright::span(name = "jobs fetch", kind = client)]
async fn fetch(client: &reqwest::Client, url: String) -> Result<u16, reqwest::Error> {
    let mut request = client.get(url).build()?;
    spanwright::inject(request.headers_mut());
    Ok(client.execute(request).await?.status().as_u16())
}

/// Sends one GET request; the status code, or `None` when the connection was
/// closed without a response.
fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Option<u16> {
    request_with(addr, "GET", path, headers)
}

/// Sends one request with `method`.
fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
}

/// Telemetry is process-wide: the tests of this binary take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[test]
fn server_spans_for_each_kind_of_response() {
    let _turn = serial();
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/jobs/{id}", get(job))
        .route("/broken", get(broken))
        .route("/explode", get(explode))
        .layer(ServerLayer::new());
    runtime.spawn(async move { axum::serve(listener, app).await });

    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    assert_eq!(
        request(addr, "/jobs/21", &[("traceparent", &traceparent)]),
        Some(200)
    );
    assert_eq!(
        request(addr, "/jobs/4", &[("traceparent", "00-xyz-01")]),
        Some(200)
    );
    assert_eq!(request(addr, "/nowhere", &[]), Some(404));
    assert_eq!(request(addr, "/broken", &[]), Some(503));
    assert_eq!(
        request(addr, "/explode", &[]),
        None,
        "the connection closes"
    );
    assert_eq!(
        request(addr, "/jobs/1", &[]),
        Some(200),
        "the server keeps serving"
    );
    let client = reqwest::Client::new();
    let fetched = runtime.block_on(fetch(&client, format!("http://{addr}/jobs/5")));
    assert_eq!(fetched.unwrap(), 200);
    telemetry.flush();
    drop(telemetry);
    drop(runtime);

    let spans = kept.spans();
    let server: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(
        server.len(),
        7,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    // Continued from the traceparent, named after the matched route.
    let continued = server[0];
    assert_eq!(continued.name, "GET /jobs/{id}");
    assert_eq!(continued.span_context.trace_id().to_string(), TRACE);
    assert_eq!(continued.parent_span_id.to_string(), PARENT);
    assert_eq!(
        continued.attr("http.request.method"),
        Some(&Value::from("GET"))
    );
    assert_eq!(continued.attr("url.path"), Some(&Value::from("/jobs/21")));
    assert_eq!(continued.attr("url.scheme"), Some(&Value::from("http")));
    assert_eq!(
        continued.attr("http.route"),
        Some(&Value::from("/jobs/{id}"))
    );
    assert_eq!(
        continued.attr("network.protocol.version"),
        Some(&Value::from("1.1"))
    );
    assert_eq!(
        continued.attr("http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(continued.status, Status::Unset);
    // The handler's annotated function is its child.
    let load = spans
        .iter()
        .find(|s| {
            s.name == "load" && s.span_context.trace_id() == continued.span_context.trace_id()
        })
        .expect("the handler's span");
    assert_eq!(load.parent_span_id, continued.span_context.span_id());

    // A malformed traceparent starts a new trace.
    let fresh = server[1];
    assert_ne!(fresh.span_context.trace_id().to_string(), TRACE);
    assert_eq!(fresh.parent_span_id, SpanId::INVALID);

    // No route matched: the method alone; a 404 is not the server's error.
    let missing = server[2];
    assert_eq!(missing.name, "GET");
    assert_eq!(missing.attr("http.route"), None);
    assert_eq!(
        missing.attr("http.response.status_code"),
        Some(&Value::I64(404))
    );
    assert_eq!(missing.status, Status::Unset);

    // A 5xx is.
    let unavailable = server[3];
    assert_eq!(
        unavailable.attr("http.response.status_code"),
        Some(&Value::I64(503))
    );
    assert_eq!(unavailable.attr("error.type"), Some(&Value::from("503")));
    assert!(matches!(unavailable.status, Status::Error { .. }));

    // So is a panic in the handler.
    let panicked = server[4];
    assert_eq!(panicked.name, "GET /explode");
    assert_eq!(panicked.attr("error.type"), Some(&Value::from("panic")));
    assert_eq!(panicked.status, Status::error("handler exploded"));

    assert_eq!(
        server[5].attr("http.response.status_code"),
        Some(&Value::I64(200))
    );

    // The reqwest call arrives as the client span's child.
    let client = spans.iter().find(|s| s.name == "jobs fetch").unwrap();
    assert_eq!(client.span_kind, SpanKind::Client);
    assert_eq!(server[6].name, "GET /jobs/{id}");
    assert_eq!(server[6].parent_span_id, client.span_context.span_id());
    assert_eq!(
        server[6].span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert_eq!(client.parent_span_id, SpanId::INVALID);
}

async fn failing() -> (http::StatusCode, &'static str) {
    (http::StatusCode::INTERNAL_SERVER_ERROR, "broken")
}

/// Serves `app` on loopback for the duration of `send`, then returns the spans.
fn serve_and_collect(app: Router, send: impl FnOnce(SocketAddr)) -> Vec<SpanData> {
    let _turn = serial();
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    send(addr);
    telemetry.flush();
    drop(telemetry);
    drop(runtime);
    kept.spans()
}

#[test]
fn the_http_conventions_to_the_letter() {
    let app = Router::new()
        .route("/jobs/{id}", get(job).fallback(job))
        .route("/fail", get(failing))
        .layer(ServerLayer::new());
    let spans = serve_and_collect(app, |addr| {
        assert!(request_with(addr, "FOO", "/jobs/1", &[]).is_some());
        assert_eq!(request(addr, "/fail", &[]), Some(500));
    });
    let server: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server.len(), 2, "{spans:?}");

    // An unknown method: `_OTHER`, the span named `HTTP`, the original kept.
    let other = server[0];
    assert!(
        other.name == "HTTP /jobs/{id}" || other.name == "HTTP",
        "{}",
        other.name
    );
    assert_eq!(
        other.attr("http.request.method"),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        other.attr("http.request.method_original"),
        Some(&Value::from("FOO"))
    );

    // A 5xx: status Error and `error.type`, but no exception happened.
    let failed = server[1];
    // No description the status code already says (the HTTP conventions).
    assert_eq!(failed.status, Status::error(""));
    assert_eq!(failed.attr("error.type"), Some(&Value::from("500")));
    assert!(failed.events.is_empty(), "{:?}", failed.events);

    // The layer's spans point at no code of the user's.
    for span in &server {
        assert!(
            span.attributes
                .iter()
                .all(|kv| !kv.key.as_str().starts_with("code.")),
            "{:?}",
            span.attributes
        );
    }
    // An annotated function still does.
    let load = spans
        .iter()
        .find(|s| s.name == "load")
        .expect("the handler's span");
    assert!(load.attr("code.function.name").is_some());
}

#[test]
fn the_scheme_behind_tls_and_from_a_trusted_proxy() {
    let forwarded = [("x-forwarded-proto", "https")];
    let scheme = |layer: ServerLayer, headers: &[(&str, &str)]| {
        let app = Router::new().route("/jobs/{id}", get(job)).layer(layer);
        let spans = serve_and_collect(app, |addr| {
            assert_eq!(request(addr, "/jobs/3", headers), Some(200));
        });
        let server = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Server)
            .unwrap();
        server.attr("url.scheme").cloned()
    };
    let https = Some(Value::from("https"));
    let http = Some(Value::from("http"));
    assert_eq!(scheme(ServerLayer::new(), &[]), http);
    assert_eq!(scheme(ServerLayer::new().behind_tls(), &[]), https);
    // A client's own header is not trusted by default.
    assert_eq!(scheme(ServerLayer::new(), &forwarded), http);
    assert_eq!(
        scheme(ServerLayer::new().trust_forwarded_proto(), &forwarded),
        https
    );
    assert_eq!(
        scheme(
            ServerLayer::new().behind_tls().trust_forwarded_proto(),
            &[("x-forwarded-proto", "http")]
        ),
        http
    );
}

/// A response body whose second half comes 300 ms after its first.
struct Slow {
    sent: u8,
    wait: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Slow {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        task: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        match self.sent {
            0 => {
                self.sent = 1;
                Poll::Ready(Some(Ok(http_body::Frame::data("first half ".into()))))
            }
            1 => match self.wait.as_mut().poll(task) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    self.sent = 2;
                    Poll::Ready(Some(Ok(http_body::Frame::data("second half".into()))))
                }
            },
            _ => Poll::Ready(None),
        }
    }
}

async fn streamed() -> axum::response::Response {
    axum::response::Response::new(axum::body::Body::new(Slow {
        sent: 0,
        wait: Box::pin(tokio::time::sleep(Duration::from_millis(300))),
    }))
}

#[test]
fn the_span_ends_when_a_streamed_body_has_been_sent() {
    let app = Router::new()
        .route("/stream", get(streamed))
        .layer(ServerLayer::new());
    let spans = serve_and_collect(app, |addr| {
        assert_eq!(request(addr, "/stream", &[]), Some(200));
    });
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("a server span");
    let took = server
        .end_time
        .duration_since(server.start_time)
        .unwrap_or_default();
    assert!(
        took >= Duration::from_millis(300),
        "the span ended at the response head, {took:?} after it started"
    );
    assert_eq!(
        server.attr("http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(server.attr("cancelled"), None);
    assert_eq!(server.status, Status::Unset);
}

async fn announced() -> axum::response::Response {
    let mut response = streamed().await;
    // "first half second half": the length hyper stops polling at.
    response.headers_mut().insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from_static("22"),
    );
    response
}

#[test]
fn every_way_a_response_ends_ends_its_span_once_and_completed() {
    let app = Router::new()
        .route("/announced", get(announced))
        .route("/jobs/{id}", get(job))
        .layer(ServerLayer::new());
    let spans = serve_and_collect(app, |addr| {
        assert_eq!(request(addr, "/announced", &[]), Some(200));
        assert_eq!(request_with(addr, "HEAD", "/jobs/2", &[]), Some(200));
    });
    let server: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server.len(), 2, "{spans:?}");
    for span in &server {
        assert_eq!(
            span.attr("cancelled"),
            None,
            "{}: {:?}",
            span.name,
            span.attributes
        );
        assert_eq!(
            span.attr("http.response.status_code"),
            Some(&Value::I64(200))
        );
    }
    // A body with an announced length ends when its last byte is sent, after
    // its 300 ms pause, although the server never asks for its end.
    let announced = server[0];
    let took = announced
        .end_time
        .duration_since(announced.start_time)
        .unwrap_or_default();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert_eq!(
        server[1].attr("http.request.method"),
        Some(&Value::from("HEAD"))
    );
}

/// Sampling that keeps errors on a real server: of a 200 and a 500 (its
/// handler's annotated call included), only the 500's trace is exported.
#[test]
fn keep_errors_keeps_the_5xx_trace_only() {
    let _turn = serial();
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .keep_errors(0.0)
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/jobs/{id}", get(job))
        .route("/fail", get(failing_after_a_load))
        .layer(ServerLayer::new());
    runtime.spawn(async move { axum::serve(listener, app).await });
    assert_eq!(request(addr, "/jobs/7", &[]), Some(200));
    assert_eq!(request(addr, "/fail", &[]), Some(500));
    let stats = telemetry.shutdown();
    drop(runtime);
    let spans = kept.spans();
    let mut names: Vec<String> = spans.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["GET /fail", "load"], "{spans:#?}");
    let server = spans.iter().find(|s| s.name == "GET /fail").unwrap();
    let load = spans.iter().find(|s| s.name == "load").unwrap();
    assert_eq!(load.parent_span_id, server.span_context.span_id());
    assert!(matches!(server.status, Status::Error { .. }));
    assert_eq!(
        stats.spans_discarded_by_sampler, 2,
        "the 200's server span and its load"
    );
}

async fn failing_after_a_load() -> (http::StatusCode, &'static str) {
    load(3).await;
    (http::StatusCode::INTERNAL_SERVER_ERROR, "broken")
}
