//! The client span of an outgoing call through a tower client (a tonic
//! `Channel`, a hyper client): child of the current span, its context injected
//! into the request's headers, ended when the response body has been read (a
//! gRPC call's status comes in its trailers) or dropped.
//!
//! HTTP: named `{METHOD}`, with `http.request.method`, `url.full` (credentials
//! and secret query values redacted), `server.address`, `server.port`,
//! `http.response.status_code`; status Error with `error.type` = the status code
//! for a status of 400 or more (the conventions count a 4xx as a client span's
//! failure). gRPC: named `{package.Service}/{Method}`, with `rpc.system`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`; status Error for every
//! code but OK (a response without one is UNKNOWN; a body dropped before it
//! came ends the span as cancelled). A transport error is status Error with an
//! `exception` event. The span is current while the inner client works.

use super::conventions::{self, HTTP_RESPONSE_STATUS_CODE};
use super::grpc::{self, Side};
use super::url;
use crate::span::recording::{Failure, Outcome, Recording};
use crate::span::site::Site;
use crate::span::start::{SpanAttrs, Start};
use ::http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

const URL_FULL: Key = Key::from_static_str("url.full");
const SERVER_ADDRESS: Key = Key::from_static_str("server.address");
const SERVER_PORT: Key = Key::from_static_str("server.port");

pub(super) static HTTP_CLIENT_SITE: Site = Site {
    name: "HTTP",
    kind: SpanKind::Client,
    function: "spanwright::http::ClientLayer",
    file: file!(),
    line: line!(),
    attrs: 6,
    status_ok: false,
    job: false,
    metrics: false,
    code: false,
    scope: "spanwright",
    scope_version: env!("CARGO_PKG_VERSION"),
    filter: crate::span::site::FilterCache::new(),
};

static GRPC_CLIENT_SITE: Site = Site {
    name: "gRPC",
    kind: SpanKind::Client,
    function: "spanwright::http::ClientLayer",
    file: file!(),
    line: line!(),
    attrs: 6,
    status_ok: false,
    job: false,
    metrics: false,
    code: false,
    scope: "spanwright",
    scope_version: env!("CARGO_PKG_VERSION"),
    filter: crate::span::site::FilterCache::new(),
};

/// The HTTP client span's name and request attributes.
pub(super) fn http_request_attrs(span: &mut SpanAttrs<'_>, method: &Method, url: &str) {
    let method = method.as_str();
    span.name(conventions::method_in_name(method).to_owned());
    conventions::record_method(span, method);
    server_attrs(span, url);
}

fn server_attrs(span: &mut SpanAttrs<'_>, url: &str) {
    let target = url::target(url);
    // `url.full` is absolute: a request that names no server has none.
    if target.address.is_some() {
        span.attr(URL_FULL, Some(Value::from(target.full)));
    }
    span.attr(SERVER_ADDRESS, target.address.map(Value::from));
    span.attr(SERVER_PORT, target.port.map(|p| Value::I64(i64::from(p))));
}

/// The request's absolute URL; a request with a path only (a hyper connection's
/// `SendRequest`, a tonic client without an origin) names its server in the
/// `Host` header, if anywhere.
fn request_url<B>(request: &Request<B>) -> String {
    let uri = request.uri();
    if uri.authority().is_some() {
        return uri.to_string();
    }
    let host = request
        .headers()
        .get(::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    match host {
        Some(host) => {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            format!("http://{host}{path}")
        }
        None => uri.to_string(),
    }
}

/// A response's status code on a client span: 400 and above are failures.
pub(super) fn http_status_outcome(status: StatusCode) -> Outcome {
    Outcome {
        failure: (status.as_u16() >= 400).then(|| Failure {
            type_name: Cow::Owned(status.as_u16().to_string()),
            // The conventions: no description that the status code already says.
            message: String::new(),
            panic: None,
            exception: false,
        }),
        ret: None,
        attributes: vec![KeyValue::new(
            HTTP_RESPONSE_STATUS_CODE,
            i64::from(status.as_u16()),
        )],
    }
}

/// A call that failed before a response: `error.type` as given, an `exception`
/// event with the error's text.
pub(super) fn transport_outcome(type_name: Cow<'static, str>, message: String) -> Outcome {
    Outcome {
        failure: Some(Failure {
            type_name,
            message,
            panic: None,
            exception: true,
        }),
        ..Outcome::default()
    }
}

/// A `tower::Layer` giving every call of a client a client span, and the
/// trace's context in the request's headers.
///
/// ```
/// use spanwright::http::ClientLayer;
/// use spanwright::opentelemetry::Value;
/// use spanwright::testing::SpanDataExt as _;
/// use tower_layer::Layer as _;
/// use tower_service::Service as _;
///
/// # #[derive(Clone)] struct Echo;
/// # impl tower_service::Service<http::Request<String>> for Echo {
/// #     type Response = http::Response<String>; type Error = std::convert::Infallible;
/// #     type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
/// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
/// #     fn call(&mut self, request: http::Request<String>) -> Self::Future {
/// #         // Answers with the trace context it received.
/// #         let traceparent = request.headers()["traceparent"].to_str().unwrap().to_owned();
/// #         std::future::ready(Ok(http::Response::new(traceparent)))
/// #     }
/// # }
/// // Any tower client of http requests: a tonic Channel, a hyper client
/// // (`Echo` answers with the `traceparent` it received).
/// let mut client = ClientLayer::new().layer(Echo);
/// let request = http::Request::get("http://api.internal:8080/items?id=7")
///     .body(String::new())
///     .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (traceparent, spans) = spanwright::testing::capture_async(async {
///     let body = client.call(request).await.unwrap().into_body();
///     // The span ends when the body has been read to its end, or dropped.
///     body.inner().clone()
/// })
/// .await;
/// let call = &spans[0];
/// assert_eq!(call.name, "GET");
/// assert_eq!(call.attr("server.port"), Some(&Value::I64(8080)));
/// // The server got the client span's context.
/// assert!(traceparent.contains(&call.span_context.span_id().to_string()));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientLayer {
    _private: (),
}

impl ClientLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = spanwright::http::ClientLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        ClientLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService { inner }
    }
}

/// The service [`ClientLayer`] wraps around a client.
///
/// ```
/// use tower_layer::Layer as _;
/// fn traced<S>(client: S) -> spanwright::http::ClientService<S> {
///     spanwright::http::ClientLayer::new().layer(client)
/// }
/// # let _ = traced(());
/// ```
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<Request<B>> for ClientService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Error: Display,
    R: Body,
{
    type Response = Response<ClientBody<R>>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> ClientFuture<S::Future> {
        if !crate::enabled() {
            return ClientFuture {
                inner: self.inner.call(request),
                recording: None,
                grpc: false,
            };
        }
        let grpc = grpc::is_grpc(request.headers());
        let url = request_url(&request);
        let recording = if grpc {
            Start::new(&GRPC_CLIENT_SITE).start(|span| {
                grpc::record_call(span, request.uri().path());
                let target = url::target(&url);
                span.attr(SERVER_ADDRESS, target.address.map(Value::from));
                span.attr(SERVER_PORT, target.port.map(|p| Value::I64(i64::from(p))));
            })
        } else {
            Start::new(&HTTP_CLIENT_SITE)
                .start(|span| http_request_attrs(span, request.method(), &url))
        };
        // The server continues the client span's trace (the current one when
        // the sampler dropped it: its context still says so).
        let inner = {
            let _current = recording.as_ref().and_then(Recording::attach);
            crate::inject(request.headers_mut());
            self.inner.call(request)
        };
        ClientFuture {
            inner,
            recording,
            grpc,
        }
    }
}

pin_project! {
    /// The response future of [`ClientService`]; the call's span goes on with
    /// the response's body.
    #[must_use = "futures do nothing unless polled"]
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        // Dropped unfinished (the call was cancelled), it ends as cancelled.
        recording: Option<Recording>,
        grpc: bool,
    }
}

impl<F> std::fmt::Debug for ClientFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Body,
    E: Display,
{
    type Output = Result<Response<ClientBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The call's span is current while the client works (its own `tracing`
        // spans, a retry layer below this one).
        let current = this.recording.as_ref().and_then(Recording::attach);
        let poll = this.inner.poll(task);
        drop(current);
        let result = match poll {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let Some(recording) = this.recording.take() else {
            return Poll::Ready(result.map(|response| response.map(ClientBody::plain)));
        };
        Poll::Ready(match result {
            Ok(response) => {
                let head = if *this.grpc {
                    grpc_head(&response)
                } else {
                    Some(http_status_outcome(response.status()))
                };
                // A gRPC call whose status is still to come (in the trailers).
                let awaiting_status = *this.grpc && head.is_none();
                if let Some(head) = head {
                    recording.record_early(head);
                }
                Ok(response.map(|body| ClientBody::ending(body, recording, awaiting_status)))
            }
            Err(error) => {
                recording.finish(&error, |error| {
                    transport_outcome(Cow::Borrowed(std::any::type_name::<E>()), error.to_string())
                });
                Err(error)
            }
        })
    }
}

/// What a gRPC response's head says: its `grpc-status` (a trailers-only
/// response), or, for an HTTP status other than 200 without one (a proxy's
/// answer), the code gRPC maps it to, beside `http.response.status_code`.
fn grpc_head<R>(response: &Response<R>) -> Option<Outcome> {
    if let Some((code, message)) = grpc::status(response.headers()) {
        return Some(grpc::status_outcome(code, message, Side::Client));
    }
    let status = response.status();
    (status != StatusCode::OK).then(|| {
        let code = grpc::code_for_http_status(status.as_u16());
        let mut outcome = grpc::status_outcome(code, None, Side::Client);
        outcome.attributes.push(KeyValue::new(
            HTTP_RESPONSE_STATUS_CODE,
            i64::from(status.as_u16()),
        ));
        outcome
    })
}

/// Ends the call's span when the body is done with: read to its end, or
/// dropped. Dropped, what the head said stands (no `cancelled` mark: a client
/// may stop reading a body it does not need), unless a gRPC status was still
/// to come: then the call is cancelled.
#[derive(Debug)]
struct Ending {
    recording: Option<Recording>,
    awaiting_status: bool,
}

impl Ending {
    fn finish(&mut self, outcome: Outcome) {
        if let Some(recording) = self.recording.take() {
            recording.finish(&(), |_| outcome);
        }
    }

    /// The body ended (no more frames, or trailers without a status).
    fn ended(&mut self) {
        let outcome = if self.awaiting_status {
            grpc::missing_status(Side::Client)
        } else {
            Outcome::default()
        };
        self.finish(outcome);
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        if !self.awaiting_status {
            self.finish(Outcome::default());
        }
        // Otherwise the recording drops unfinished: it ends as cancelled.
    }
}

pin_project! {
    /// The response body of [`ClientService`]: the call's span ends when it has
    /// been read to its end (its trailers, for gRPC) or dropped.
    pub struct ClientBody<B> {
        #[pin]
        inner: B,
        ending: Ending,
    }
}

impl<B> std::fmt::Debug for ClientBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBody").finish_non_exhaustive()
    }
}

impl<B: Body> ClientBody<B> {
    fn plain(inner: B) -> Self {
        ClientBody {
            inner,
            ending: Ending {
                recording: None,
                awaiting_status: false,
            },
        }
    }

    fn ending(inner: B, recording: Recording, awaiting_status: bool) -> Self {
        let mut ending = Ending {
            recording: Some(recording),
            awaiting_status,
        };
        if inner.is_end_stream() {
            ending.ended();
        }
        ClientBody { inner, ending }
    }

    /// The body as the client it wraps made it.
    ///
    /// ```
    /// # #[derive(Clone)] struct Ok200;
    /// # impl tower_service::Service<http::Request<()>> for Ok200 {
    /// #     type Response = http::Response<String>; type Error = std::convert::Infallible;
    /// #     type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
    /// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
    /// #     fn call(&mut self, _: http::Request<()>) -> Self::Future { std::future::ready(Ok(http::Response::new("ok".into()))) }
    /// # }
    /// use tower_layer::Layer as _;
    /// use tower_service::Service as _;
    /// let mut client = spanwright::http::ClientLayer::new().layer(Ok200);
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let response = client.call(http::Request::new(())).await.unwrap();
    /// assert_eq!(response.body().inner(), "ok");
    /// # });
    /// ```
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: Body> Body for ClientBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let frame = this.inner.as_mut().poll_frame(task);
        if this.ending.recording.is_none() {
            return frame;
        }
        match &frame {
            Poll::Pending => {}
            Poll::Ready(Some(Ok(frame))) => {
                let status = frame
                    .trailers_ref()
                    .and_then(grpc::status)
                    .filter(|_| this.ending.awaiting_status);
                if let Some((code, message)) = status {
                    this.ending
                        .finish(grpc::status_outcome(code, message, Side::Client));
                } else if frame.is_trailers() || this.inner.is_end_stream() {
                    this.ending.ended();
                }
            }
            Poll::Ready(Some(Err(_))) => this.ending.finish(transport_outcome(
                Cow::Borrowed("response body"),
                "the response body failed while it was being read".to_owned(),
            )),
            Poll::Ready(None) => this.ending.ended(),
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
