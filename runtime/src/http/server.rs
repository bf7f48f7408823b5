//! The server span of an HTTP service: one per request, continuing the trace in
//! its headers, named `"{METHOD} {route}"` (`"{METHOD}"` when the route is not
//! known), with the HTTP semantic-convention attributes. A method the
//! conventions do not know is `_OTHER` (the span named `HTTP`), the original in
//! `http.request.method_original`. A 5xx response is an error (`error.type` =
//! the status code, status Error, no `exception` event: none happened); a panic
//! in the handler too (`error.type` = `panic`, with its `exception` event);
//! everything else, 4xx included, leaves the status Unset: a 404 is the
//! client's error, not the server's. Its spans carry no `code.*` attributes:
//! there is no code of the user's to point at. The span ends when the response
//! body has been sent (a streamed body included), not at the response head; a
//! body dropped before its end (the client went away) ends it as cancelled.
//!
//! A gRPC request (content type `application/grpc…`) gets an RPC server span
//! instead: named `{package.Service}/{Method}`, with `rpc.system`,
//! `rpc.service`, `rpc.method` and `rpc.grpc.status_code` from the
//! `grpc-status` of the response's head (a trailers-only response) or of its
//! trailers, so it ends after the trailers.

use super::conventions::{self, HTTP_RESPONSE_STATUS_CODE};
use super::grpc::{self, Side};
use super::server_metrics::ServerMetrics;
use crate::span::recording::{Failure, Outcome, Recording};
use crate::span::site::Site;
use crate::span::start::Start;
use ::http::{Request, Response, StatusCode, Version};
use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

const URL_PATH: Key = Key::from_static_str("url.path");
const URL_SCHEME: Key = Key::from_static_str("url.scheme");
const HTTP_ROUTE: Key = Key::from_static_str("http.route");
const NETWORK_PROTOCOL_VERSION: Key = Key::from_static_str("network.protocol.version");

static SITE: Site = Site {
    name: "HTTP",
    kind: SpanKind::Server,
    function: "spanwright::http::ServerLayer",
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

static GRPC_SITE: Site = Site {
    name: "gRPC",
    kind: SpanKind::Server,
    function: "spanwright::http::ServerLayer",
    file: file!(),
    line: line!(),
    attrs: 4,
    status_ok: false,
    job: false,
    metrics: false,
    code: false,
    scope: "spanwright",
    scope_version: env!("CARGO_PKG_VERSION"),
    filter: crate::span::site::FilterCache::new(),
};

/// A `tower::Layer` giving every request a server span (an RPC server span for
/// a gRPC request).
///
/// ```
/// use spanwright::http::ServerLayer;
/// use tower_layer::Layer as _;
/// use tower_service::Service as _;
///
/// // Any tower service of http requests: axum's Router, a tonic server, a hyper service.
/// let mut service = ServerLayer::new().layer(tower_service_fn());
/// # fn tower_service_fn() -> impl tower_service::Service<http::Request<()>, Response = http::Response<String>, Error = std::convert::Infallible, Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>> + Clone {
/// #     #[derive(Clone)] struct Ok200;
/// #     impl tower_service::Service<http::Request<()>> for Ok200 {
/// #         type Response = http::Response<String>; type Error = std::convert::Infallible;
/// #         type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
/// #         fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
/// #         fn call(&mut self, _: http::Request<()>) -> Self::Future { std::future::ready(Ok(http::Response::new(String::new()))) }
/// #     }
/// #     Ok200
/// # }
/// let request = http::Request::get("/health").body(()).unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (response, spans) = spanwright::testing::capture_async(async { service.call(request).await }).await;
/// assert_eq!(response.unwrap().status(), 200);
/// assert_eq!(spans[0].name, "GET");
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer {
    behind_tls: bool,
    trust_forwarded_proto: bool,
}

impl ServerLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = spanwright::http::ServerLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        ServerLayer::default()
    }

    /// The service is reached over TLS (it terminates TLS itself, or sits behind
    /// a terminator): `url.scheme` is `https`.
    ///
    /// ```
    /// let layer = spanwright::http::ServerLayer::new().behind_tls();
    /// # let _ = layer;
    /// ```
    pub fn behind_tls(mut self) -> Self {
        self.behind_tls = true;
        self
    }

    /// Take `url.scheme` from the `X-Forwarded-Proto` header (`http` or
    /// `https`), for a service behind a proxy that sets it. Off by default: a
    /// client could send the header itself.
    ///
    /// ```
    /// let layer = spanwright::http::ServerLayer::new().trust_forwarded_proto();
    /// # let _ = layer;
    /// ```
    pub fn trust_forwarded_proto(mut self) -> Self {
        self.trust_forwarded_proto = true;
        self
    }
}

impl<S> tower_layer::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService {
            inner,
            settings: *self,
        }
    }
}

/// The service [`ServerLayer`] wraps around yours.
///
/// ```
/// use tower_layer::Layer as _;
/// fn traced<S>(service: S) -> spanwright::http::ServerService<S> {
///     spanwright::http::ServerLayer::new().layer(service)
/// }
/// # let _ = traced(());
/// ```
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    settings: ServerLayer,
}

/// `url.scheme`: a trusted `X-Forwarded-Proto`, else `https` behind TLS, else
/// the request's own scheme, else `http`.
fn scheme<B>(request: &Request<B>, settings: ServerLayer) -> &str {
    if settings.trust_forwarded_proto {
        let forwarded = request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            // Chained proxies append: the first is what the client used.
            .and_then(|v| v.split(',').next())
            .map(str::trim);
        match forwarded {
            Some(proto) if proto.eq_ignore_ascii_case("https") => return "https",
            Some(proto) if proto.eq_ignore_ascii_case("http") => return "http",
            _ => {}
        }
    }
    if settings.behind_tls {
        return "https";
    }
    request.uri().scheme_str().unwrap_or("http")
}

/// The route as the router matched it, when it says.
fn route<B>(request: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(matched) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(matched.as_str());
    }
    let _ = request;
    None
}

pub(super) fn version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "unknown",
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for ServerService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Error: Display,
    R: Body,
{
    type Response = Response<ServerBody<R>>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> ServerFuture<S::Future> {
        if !crate::enabled() {
            let inner = self.inner.call(request);
            return ServerFuture {
                inner,
                recording: None,
                metrics: ServerMetrics::default(),
                head_only: false,
                grpc: false,
            };
        }
        if grpc::is_grpc(request.headers()) {
            return self.call_grpc(request);
        }
        // A HEAD response sends no body, whatever its head announces.
        let head_only = request.method() == ::http::Method::HEAD;
        let method = request.method().as_str();
        let name_method = conventions::method_in_name(method);
        let route = route(&request);
        let settings = self.settings;
        let recording = Start::new(&SITE).parent(request.headers()).start(|span| {
            span.name(match route {
                Some(route) => format!("{name_method} {route}"),
                None => name_method.to_owned(),
            });
            conventions::record_method(span, method);
            span.attr(URL_PATH, Some(Value::from(request.uri().path().to_owned())));
            let scheme = scheme(&request, settings).to_owned();
            span.attr(URL_SCHEME, Some(Value::from(scheme)));
            span.attr(HTTP_ROUTE, route.map(|r| Value::from(r.to_owned())));
            span.attr(
                NETWORK_PROTOCOL_VERSION,
                Some(Value::from(version(request.version()))),
            );
        });
        let scheme = match scheme(&request, settings) {
            "https" => "https",
            _ => "http",
        };
        let metrics = ServerMetrics::start(&request, scheme, route, recording.as_ref());
        self.respond(request, recording, metrics, head_only, false)
    }
}

impl<S> ServerService<S> {
    /// An RPC server span, named `{package.Service}/{Method}`.
    fn call_grpc<B, R>(&mut self, request: Request<B>) -> ServerFuture<S::Future>
    where
        S: tower_service::Service<Request<B>, Response = Response<R>>,
    {
        let path = request.uri().path();
        let recording = Start::new(&GRPC_SITE)
            .parent(request.headers())
            .start(|span| {
                grpc::record_call(span, path);
                span.attr(
                    NETWORK_PROTOCOL_VERSION,
                    Some(Value::from(version(request.version()))),
                );
            });
        // gRPC's own metrics (`rpc.server.duration`) are not recorded.
        self.respond(request, recording, ServerMetrics::default(), false, true)
    }

    /// Calls the service with the request's span current (what it does on
    /// `call` belongs to the request too); the span goes on with the response.
    fn respond<B, R>(
        &mut self,
        request: Request<B>,
        recording: Option<Recording>,
        metrics: ServerMetrics,
        head_only: bool,
        grpc: bool,
    ) -> ServerFuture<S::Future>
    where
        S: tower_service::Service<Request<B>, Response = Response<R>>,
    {
        let inner = {
            let _current = recording.as_ref().and_then(Recording::attach);
            self.inner.call(request)
        };
        ServerFuture {
            inner,
            recording,
            metrics,
            head_only,
            grpc,
        }
    }
}

pin_project! {
    /// The response future of [`ServerService`]: the span is current while it is
    /// polled; it goes on with the response's body, which ends it.
    #[must_use = "futures do nothing unless polled"]
    pub struct ServerFuture<F> {
        #[pin]
        inner: F,
        // Dropped unfinished (the request was cancelled), it ends as cancelled.
        recording: Option<Recording>,
        // The request's metrics, recorded when it ends (with the response's body).
        metrics: ServerMetrics,
        head_only: bool,
        grpc: bool,
    }
}

impl<F> std::fmt::Debug for ServerFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ServerFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Body,
    E: Display,
{
    type Output = Result<Response<ServerBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(recording) = this.recording.as_ref() else {
            return this
                .inner
                .poll(task)
                .map(|result| result.map(|response| response.map(ServerBody::plain)));
        };
        let current = recording.attach();
        // The payload is caught to read the panic's own message, then re-thrown.
        let poll = catch_unwind(AssertUnwindSafe(|| this.inner.poll(task)));
        drop(current);
        let result = match poll {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(payload) => {
                if let Some(recording) = this.recording.take() {
                    recording.end_panicked(&*payload);
                }
                this.metrics.failed(Cow::Borrowed("panic"));
                this.metrics.end();
                resume_unwind(payload)
            }
        };
        let mut metrics = std::mem::take(this.metrics);
        let Some(recording) = this.recording.take() else {
            return Poll::Ready(result.map(|response| response.map(ServerBody::plain)));
        };
        let head_only = *this.head_only;
        Poll::Ready(match result {
            Ok(response) if *this.grpc => {
                // A trailers-only response (an error, or UNIMPLEMENTED) carries
                // its status in the head; otherwise the trailers will.
                let mut awaiting_status = false;
                if let Some((code, message)) = grpc::status(response.headers()) {
                    recording.record_early(grpc::status_outcome(code, message, Side::Server));
                } else if response.status() != StatusCode::OK {
                    recording.record_early(status_outcome(response.status()));
                } else {
                    awaiting_status = true;
                }
                Ok(response.map(|body| {
                    ServerBody::ending(body, recording, metrics, false, None, awaiting_status)
                }))
            }
            Ok(response) => {
                // The status is known at the head: recorded now, whatever
                // happens to the body.
                let status = response.status();
                recording.record_early(status_outcome(status));
                metrics.status(status);
                let no_body = head_only
                    || status.is_informational()
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED;
                let length = content_length(response.headers());
                Ok(response.map(|body| {
                    ServerBody::ending(body, recording, metrics, no_body, length, false)
                }))
            }
            Err(error) => {
                recording.finish(&error, |error| failure_outcome(error));
                metrics.failed(Cow::Borrowed(std::any::type_name::<E>()));
                Err(error)
            }
        })
    }
}

/// The length a response's head announces, if any.
fn content_length(headers: &::http::HeaderMap) -> Option<u64> {
    headers
        .get(::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

pin_project! {
    /// The response body of [`ServerService`]: the request's span is current
    /// while it is polled and ends when the body has been sent (its last frame,
    /// its trailers, its announced length, or its error), or as cancelled when it
    /// is dropped before (the client went away). Its status code was recorded
    /// with the response's head.
    pub struct ServerBody<B> {
        #[pin]
        inner: B,
        ending: Option<Recording>,
        metrics: ServerMetrics,
        // Data bytes still to send, when the head announced a length (the server
        // stops polling once they are sent).
        remaining: Option<u64>,
        // A gRPC call whose `grpc-status` is to come in the trailers.
        grpc: bool,
    }
}

impl<B> std::fmt::Debug for ServerBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBody").finish_non_exhaustive()
    }
}

/// An empty body of the wrapped kind, for layers that need one (CORS, timeouts).
impl<B: Default> Default for ServerBody<B> {
    fn default() -> Self {
        ServerBody {
            inner: B::default(),
            ending: None,
            metrics: ServerMetrics::default(),
            remaining: None,
            grpc: false,
        }
    }
}

impl<B: Body> ServerBody<B> {
    fn plain(inner: B) -> Self {
        ServerBody {
            inner,
            ending: None,
            metrics: ServerMetrics::default(),
            remaining: None,
            grpc: false,
        }
    }

    fn ending(
        inner: B,
        recording: Recording,
        metrics: ServerMetrics,
        no_body: bool,
        length: Option<u64>,
        grpc: bool,
    ) -> Self {
        // A gRPC status comes after the data: the length does not end the call.
        let remaining = length.or(inner.size_hint().exact()).filter(|_| !grpc);
        if no_body || inner.is_end_stream() || remaining == Some(0) {
            // Nothing to send (HEAD, 1xx, 204, 304, an empty body): done now;
            // a gRPC call that still owed its status never sends it.
            recording.finish(&grpc, |grpc| {
                if *grpc {
                    grpc::missing_status(Side::Server)
                } else {
                    Outcome::default()
                }
            });
            return ServerBody::plain(inner);
        }
        ServerBody {
            inner,
            ending: Some(recording),
            metrics,
            remaining,
            grpc,
        }
    }
}

impl<B: Body> Body for ServerBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let Some(recording) = this.ending.as_ref() else {
            return this.inner.poll_frame(task);
        };
        // The span is current while the body is made (rows streamed from a database).
        let current = recording.attach();
        let frame = catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll_frame(task)));
        drop(current);
        let frame = match frame {
            Ok(frame) => frame,
            Err(payload) => {
                if let Some(recording) = this.ending.take() {
                    recording.end_panicked(&*payload);
                }
                this.metrics.failed(Cow::Borrowed("panic"));
                this.metrics.end();
                resume_unwind(payload)
            }
        };
        let done = match &frame {
            Poll::Pending => false,
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
            // The server stops asking after trailers, or once the announced
            // length is sent, or once the body says it is at its end.
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(remaining), Some(data)) = (this.remaining.as_mut(), frame.data_ref()) {
                    *remaining = remaining.saturating_sub(data.remaining() as u64);
                }
                frame.is_trailers() || *this.remaining == Some(0) || this.inner.is_end_stream()
            }
        };
        if done && let Some(recording) = this.ending.take() {
            let trailers = match &frame {
                Poll::Ready(Some(Ok(frame))) => frame.trailers_ref(),
                _ => None,
            };
            match trailers.and_then(grpc::status).filter(|_| *this.grpc) {
                Some((code, message)) => {
                    recording.finish(&(), |_| grpc::status_outcome(code, message, Side::Server))
                }
                None if *this.grpc && !matches!(frame, Poll::Ready(Some(Err(_)))) => {
                    recording.finish(&(), |_| grpc::missing_status(Side::Server))
                }
                None => {
                    let failed = matches!(frame, Poll::Ready(Some(Err(_))));
                    recording.finish(&failed, |failed| body_outcome(*failed));
                    if failed {
                        this.metrics.failed(Cow::Borrowed("response body"));
                    }
                }
            }
            // The request's metrics end with its span.
            this.metrics.end();
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

/// The response's status code; a 5xx is the request's failure (no exception
/// happened: status Error and `error.type` only).
fn status_outcome(status: StatusCode) -> Outcome {
    Outcome {
        failure: status.is_server_error().then(|| Failure {
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

/// How sending the body ended: a body that failed while it was being sent is
/// the request's failure (its status code was recorded with the head).
fn body_outcome(failed: bool) -> Outcome {
    Outcome {
        failure: failed.then(|| Failure {
            type_name: Cow::Borrowed("response body"),
            message: "the response body failed while it was being sent".to_owned(),
            panic: None,
            exception: false,
        }),
        ..Outcome::default()
    }
}

/// The inner service's error: an exception.
fn failure_outcome<E: Display>(error: &E) -> Outcome {
    Outcome {
        failure: Some(Failure {
            type_name: Cow::Borrowed(std::any::type_name::<E>()),
            message: error.to_string(),
            panic: None,
            exception: true,
        }),
        ..Outcome::default()
    }
}
