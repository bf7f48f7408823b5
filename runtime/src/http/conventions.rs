//! What both sides of an HTTP call record the same way: the request method,
//! and the keys they share.

use crate::span::start::SpanAttrs;
use opentelemetry::{Key, Value};

pub(super) const HTTP_REQUEST_METHOD: Key = Key::from_static_str("http.request.method");
pub(super) const HTTP_REQUEST_METHOD_ORIGINAL: Key =
    Key::from_static_str("http.request.method_original");
pub(super) const HTTP_RESPONSE_STATUS_CODE: Key = Key::from_static_str("http.response.status_code");

/// The methods the HTTP semantic conventions know; any other is `_OTHER`.
const KNOWN_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// How a span names the method `original`: as it is when the conventions know
/// it, else `HTTP` (the method recorded as `_OTHER`).
pub(super) fn method_in_name(original: &str) -> &str {
    if KNOWN_METHODS.contains(&original) {
        original
    } else {
        "HTTP"
    }
}

/// The value of `http.request.method` for the method `original`.
#[cfg(feature = "metrics")]
pub(super) fn method_value(original: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == original)
        .copied()
        .unwrap_or("_OTHER")
}

/// `http.request.method`, and `http.request.method_original` for a method the
/// conventions do not know.
pub(super) fn record_method(span: &mut SpanAttrs<'_>, original: &str) {
    if KNOWN_METHODS.contains(&original) {
        span.attr(HTTP_REQUEST_METHOD, Some(Value::from(original.to_owned())));
    } else {
        span.attr(HTTP_REQUEST_METHOD, Some(Value::from("_OTHER")));
        span.attr(
            HTTP_REQUEST_METHOD_ORIGINAL,
            Some(Value::from(original.to_owned())),
        );
    }
}
