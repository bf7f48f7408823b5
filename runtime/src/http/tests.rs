//! The layers over services whose responses are made frame by frame: a gRPC
//! status in the trailers, a response without any, a proxy's plain HTTP error,
//! a body dropped before its status. (The pass-through when tracing is off is
//! tested in `tests/disabled.rs`, a process where nothing is ever captured.)

use super::{ClientLayer, ServerLayer};
use crate::testing::{SpanDataExt as _, capture_async};
use ::http::{HeaderMap, Request, Response, StatusCode};
use bytes::Bytes;
use http_body::{Body, Frame};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_layer::Layer as _;
use tower_service::Service;

/// A body that yields its frames one by one.
struct Frames(VecDeque<Frame<Bytes>>);

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// A service answering every request with `status`, a data frame, and
/// `trailers` (when given). It records the `traceparent` it was sent.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    trailers: Option<HeaderMap>,
    seen: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Answer {
    fn new(status: StatusCode, grpc_status: Option<&str>) -> Self {
        let trailers = grpc_status.map(|code| {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", code.parse().unwrap());
            trailers
        });
        Answer {
            status,
            trailers,
            seen: Default::default(),
        }
    }
}

impl Service<Request<()>> for Answer {
    type Response = Response<Frames>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Frames>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        *self.seen.lock().unwrap() = request
            .headers()
            .get("traceparent")
            .map(|v| v.to_str().unwrap().to_owned());
        let mut frames = VecDeque::from([Frame::data(Bytes::from_static(b"\0\0\0\0\0"))]);
        if let Some(trailers) = self.trailers.clone() {
            frames.push_back(Frame::trailers(trailers));
        }
        let mut response = Response::new(Frames(frames));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert("content-type", "application/grpc".parse().unwrap());
        std::future::ready(Ok(response))
    }
}

fn grpc_request() -> Request<()> {
    Request::post("http://127.0.0.1:50051/jobs.Jobs/Run")
        .header("content-type", "application/grpc")
        .body(())
        .unwrap()
}

/// Reads `body` to its end.
async fn drain<B: Body + Unpin>(mut body: B) {
    while std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))
        .await
        .is_some()
    {}
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn code(value: i64) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::I64(value))))
}

fn text(value: &str) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::from(value.to_owned()))))
}

#[test]
fn a_status_in_the_trailers_fails_both_sides() {
    let ((), spans) = block_on(capture_async(async {
        let mut client = ClientLayer::new().layer(Answer::new(StatusCode::OK, Some("13")));
        drain(client.call(grpc_request()).await.unwrap().into_body()).await;
        let mut server = ServerLayer::new().layer(Answer::new(StatusCode::OK, Some("13")));
        drain(server.call(grpc_request()).await.unwrap().into_body()).await;
    }));
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in spans.iter() {
        assert_eq!(span.name, "jobs.Jobs/Run");
        assert_eq!(span.attr("rpc.grpc.status_code"), code(13));
        assert_eq!(span.attr("error.type"), text("INTERNAL"));
        assert!(matches!(span.status, Status::Error { .. }), "{span:#?}");
    }
}

#[test]
fn a_response_without_a_status_is_unknown() {
    let ((), spans) = block_on(capture_async(async {
        let mut client = ClientLayer::new().layer(Answer::new(StatusCode::OK, None));
        drain(client.call(grpc_request()).await.unwrap().into_body()).await;
        let mut server = ServerLayer::new().layer(Answer::new(StatusCode::OK, None));
        drain(server.call(grpc_request()).await.unwrap().into_body()).await;
    }));
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in spans.iter() {
        assert_eq!(span.attr("rpc.grpc.status_code"), code(2), "{span:#?}");
        assert_eq!(span.attr("error.type"), text("UNKNOWN"));
        assert!(matches!(span.status, Status::Error { .. }));
    }
}

#[test]
fn a_proxys_http_error_is_mapped_to_a_grpc_code() {
    let ((), spans) = block_on(capture_async(async {
        let mut client =
            ClientLayer::new().layer(Answer::new(StatusCode::SERVICE_UNAVAILABLE, None));
        drain(client.call(grpc_request()).await.unwrap().into_body()).await;
    }));
    let span = &spans[0];
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.attr("rpc.grpc.status_code"), code(14));
    assert_eq!(span.attr("error.type"), text("UNAVAILABLE"));
    assert_eq!(span.attr("http.response.status_code"), code(503));
}

#[test]
fn a_body_dropped_before_its_status_ends_the_call_as_cancelled() {
    let ((), spans) = block_on(capture_async(async {
        let mut client = ClientLayer::new().layer(Answer::new(StatusCode::OK, Some("0")));
        let body = client.call(grpc_request()).await.unwrap().into_body();
        drop(body);
    }));
    let span = &spans[0];
    assert_eq!(
        span.attr("cancelled"),
        Some(&Value::Bool(true)),
        "{span:#?}"
    );
    assert_eq!(span.attr("rpc.grpc.status_code"), None);

    // An HTTP response's body dropped unread: what its head said stands.
    let ((), spans) = block_on(capture_async(async {
        let mut client = ClientLayer::new().layer(Answer::new(StatusCode::NOT_FOUND, None));
        let request = Request::get("http://127.0.0.1:8080/items")
            .body(())
            .unwrap();
        drop(client.call(request).await.unwrap().into_body());
    }));
    let span = &spans[0];
    assert_eq!(span.name, "GET");
    assert_eq!(span.attr("cancelled"), None);
    assert_eq!(span.attr("http.response.status_code"), code(404));
    assert_eq!(span.status, Status::error(""));
    assert_eq!(span.attr("url.full"), text("http://127.0.0.1:8080/items"));
}

#[test]
fn a_path_of_another_shape_is_not_a_span_name() {
    let ((), spans) = block_on(capture_async(async {
        let mut server = ServerLayer::new().layer(Answer::new(StatusCode::OK, Some("12")));
        let request = Request::post("/anything/the/caller/likes")
            .header("content-type", "application/grpc")
            .body(())
            .unwrap();
        drain(server.call(request).await.unwrap().into_body()).await;
    }));
    assert_eq!(spans[0].name, "gRPC");
    assert_eq!(spans[0].attr("rpc.method"), None);
}

#[test]
fn a_request_with_a_path_only_names_its_server_in_the_host_header() {
    let ((), spans) = block_on(capture_async(async {
        let mut client = ClientLayer::new().layer(Answer::new(StatusCode::OK, None));
        let request = Request::get("/items?token=abc")
            .header("host", "storage.internal:9000")
            .body(())
            .unwrap();
        drain(client.call(request).await.unwrap().into_body()).await;
    }));
    let span = &spans[0];
    assert_eq!(span.attr("server.address"), text("storage.internal"));
    assert_eq!(span.attr("server.port"), code(9000));
    assert_eq!(
        span.attr("url.full"),
        text("http://storage.internal:9000/items?token=REDACTED")
    );
}
