//! The server span of an HTTP service: one per request, continuing the trace in
//! its headers, named `"{METHOD} {route}"` (`"{METHOD}"` when the route is not
//! known), with the HTTP semantic-convention attributes. A 5xx response or a
//! panic in the handler is an error (`error.type` = the status code, or
//! `panic`); everything else, 4xx included, leaves the status Unset: a 404 is
//! the client's error, not the server's.

use crate::span::recording::{Failure, Outcome, Recording};
use crate::span::site::Site;
use crate::span::start::Start;
use ::http::{Request, Response, Version};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

const HTTP_REQUEST_METHOD: Key = Key::from_static_str("http.request.method");
const URL_PATH: Key = Key::from_static_str("url.path");
const URL_SCHEME: Key = Key::from_static_str("url.scheme");
const HTTP_ROUTE: Key = Key::from_static_str("http.route");
const NETWORK_PROTOCOL_VERSION: Key = Key::from_static_str("network.protocol.version");
const HTTP_RESPONSE_STATUS_CODE: Key = Key::from_static_str("http.response.status_code");

static SITE: Site = Site {
    name: "HTTP",
    kind: SpanKind::Server,
    function: "spanwright::http::ServerLayer",
    file: file!(),
    line: line!(),
    attrs: 5,
    status_ok: false,
    job: false,
};

/// A `tower::Layer` giving every request a server span.
///
/// ```
/// use spanwright::http::ServerLayer;
/// use tower_layer::Layer as _;
/// use tower_service::Service as _;
///
/// // Any tower service of http requests: axum's Router, a tonic server, a hyper service.
/// let mut service = ServerLayer::new().layer(tower_service_fn());
/// # fn tower_service_fn() -> impl tower_service::Service<http::Request<()>, Response = http::Response<()>, Error = std::convert::Infallible, Future = std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>> + Clone {
/// #     #[derive(Clone)] struct Ok200;
/// #     impl tower_service::Service<http::Request<()>> for Ok200 {
/// #         type Response = http::Response<()>; type Error = std::convert::Infallible;
/// #         type Future = std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>;
/// #         fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
/// #         fn call(&mut self, _: http::Request<()>) -> Self::Future { std::future::ready(Ok(http::Response::new(()))) }
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
pub struct ServerLayer(());

impl ServerLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = spanwright::http::ServerLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        ServerLayer(())
    }
}

impl<S> tower_layer::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService { inner }
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

fn version(version: Version) -> &'static str {
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
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> ServerFuture<S::Future> {
        if !crate::enabled() {
            return ServerFuture {
                inner: self.inner.call(request),
                recording: None,
            };
        }
        let method = request.method().as_str();
        let route = route(&request);
        let recording = Start::new(&SITE).parent(request.headers()).start(|span| {
            span.name(match route {
                Some(route) => format!("{method} {route}"),
                None => method.to_owned(),
            });
            span.attr(HTTP_REQUEST_METHOD, Some(Value::from(method.to_owned())));
            span.attr(URL_PATH, Some(Value::from(request.uri().path().to_owned())));
            let scheme = request.uri().scheme_str().unwrap_or("http").to_owned();
            span.attr(URL_SCHEME, Some(Value::from(scheme)));
            span.attr(HTTP_ROUTE, route.map(|r| Value::from(r.to_owned())));
            span.attr(
                NETWORK_PROTOCOL_VERSION,
                Some(Value::from(version(request.version()))),
            );
        });
        // What the service does on `call` belongs to the request too.
        let inner = {
            let _current = recording.as_ref().and_then(Recording::attach);
            self.inner.call(request)
        };
        ServerFuture { inner, recording }
    }
}

pin_project! {
    /// The response future of [`ServerService`]: the span is current while it is
    /// polled, and ends with the response.
    #[must_use = "futures do nothing unless polled"]
    pub struct ServerFuture<F> {
        #[pin]
        inner: F,
        recording: Option<Recording>,
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
    E: Display,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(recording) = this.recording.as_ref() else {
            return this.inner.poll(task);
        };
        let current = recording.attach();
        let inner = this.inner;
        let poll = catch_unwind(AssertUnwindSafe(|| inner.poll(task)));
        drop(current);
        let result = match poll {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(payload) => {
                if let Some(recording) = this.recording.take() {
                    recording.end_panicked(&*payload);
                }
                resume_unwind(payload)
            }
        };
        if let Some(recording) = this.recording.take() {
            let failure = match &result {
                Ok(response) => {
                    let status = response.status();
                    recording.set_attribute(KeyValue::new(
                        HTTP_RESPONSE_STATUS_CODE,
                        i64::from(status.as_u16()),
                    ));
                    status.is_server_error().then(|| Failure {
                        type_name: Cow::Owned(status.as_u16().to_string()),
                        message: status.to_string(),
                        panic: None,
                    })
                }
                Err(error) => Some(Failure {
                    type_name: Cow::Borrowed(std::any::type_name::<E>()),
                    message: error.to_string(),
                    panic: None,
                }),
            };
            recording.finish(&(), |_| Outcome { failure, ret: None });
        }
        Poll::Ready(result)
    }
}
