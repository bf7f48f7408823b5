//! The client span of a reqwest call, through reqwest-middleware (reqwest is
//! not a tower service): the same span [`ClientLayer`](super::ClientLayer)
//! makes for HTTP, ended when the response's head has arrived.

use super::client::{HTTP_CLIENT_SITE, http_request_attrs, http_status_outcome, transport_outcome};
use crate::span::recording::Recording;
use crate::span::start::Start;
use ::http::Extensions;
use reqwest_middleware::{Error, Middleware, Next};
use std::borrow::Cow;
use std::error::Error as _;
use std::future::Future as _;

/// A reqwest-middleware middleware giving every request a client span and the
/// trace's context in its headers.
///
/// The span: named `{METHOD}`, with `http.request.method`, `url.full` (a
/// user name and password replaced by `REDACTED:REDACTED`, the values of secret
/// query parameters such as `token` or `Signature` by `REDACTED`), `server.address`,
/// `server.port` and `http.response.status_code`. A status of 400 or more is
/// status Error with `error.type` = the code (the conventions count a 4xx as a
/// client's failure); a call that gets no response is status Error with an
/// `exception` event and `error.type` = `timeout`, `connect`, `redirect`,
/// `body`, `request` (any other failure of reqwest) or `middleware` (an error of
/// a middleware after this one). The error's text, in the status description
/// and the `exception` event, names its URLs as `url.full` does. The span is
/// current while the later middlewares and reqwest run; put the middleware
/// after a retry middleware for one span, and one injected context, per attempt.
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use spanwright::http::ClientMiddleware;
/// use spanwright::opentelemetry::{Value, trace::Status};
/// use spanwright::testing::SpanDataExt as _;
///
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(ClientMiddleware::new())
///     .build();
/// // A port nothing listens on: the call fails.
/// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (result, spans) = spanwright::testing::capture_async(async {
///     client.get(format!("http://127.0.0.1:{port}/items")).send().await
/// })
/// .await;
/// assert!(result.is_err());
/// let call = &spans[0];
/// assert_eq!(call.name, "GET");
/// assert_eq!(call.attr("error.type"), Some(&Value::from("connect")));
/// assert!(matches!(call.status, Status::Error { .. }));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMiddleware {
    _private: (),
}

impl ClientMiddleware {
    /// The middleware.
    ///
    /// ```
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(spanwright::http::ClientMiddleware::new())
    ///     .build();
    /// # let _ = client;
    /// ```
    pub fn new() -> Self {
        ClientMiddleware::default()
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if !crate::enabled() {
            return next.run(request, extensions).await;
        }
        let url = request.url().as_str().to_owned();
        let recording = Start::new(&HTTP_CLIENT_SITE)
            .start(|span| http_request_attrs(span, request.method(), &url));
        {
            let _current = recording.as_ref().and_then(Recording::attach);
            crate::inject(request.headers_mut());
        }
        // Current while the rest of the chain runs (its own spans nest under it).
        let mut run = std::pin::pin!(next.run(request, extensions));
        let result = std::future::poll_fn(|task| {
            let _current = recording.as_ref().and_then(Recording::attach);
            run.as_mut().poll(task)
        })
        .await;
        if let Some(recording) = recording {
            match &result {
                Ok(response) => recording.finish(response, |r| http_status_outcome(r.status())),
                Err(error) => recording.finish(error, |error| {
                    transport_outcome(error_type(error), message(error, &url))
                }),
            }
        }
        result
    }
}

/// A low-cardinality name for a failed call.
fn error_type(error: &Error) -> Cow<'static, str> {
    Cow::Borrowed(match error {
        Error::Middleware(_) => "middleware",
        Error::Reqwest(e) if e.is_timeout() => "timeout",
        Error::Reqwest(e) if e.is_connect() => "connect",
        Error::Reqwest(e) if e.is_redirect() => "redirect",
        Error::Reqwest(e) if e.is_body() || e.is_decode() => "body",
        Error::Reqwest(_) => "request",
    })
}

/// The error and its causes, with its URLs as `url.full` records them (reqwest's
/// text names the URL with its credentials and query: the request's, or the one
/// a redirect led to).
fn message(error: &Error, url: &str) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_of(source);
    }
    let mut urls = vec![url.to_owned()];
    if let Error::Reqwest(e) = error
        && let Some(last) = e.url()
    {
        urls.push(last.as_str().to_owned());
    }
    for url in urls {
        text = text.replace(&url, &super::url::target(&url).full);
    }
    text
}

fn cause_of<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(|e| e.source())
}
