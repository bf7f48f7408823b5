//! gRPC over HTTP/2, as the RPC semantic conventions record it: how a request
//! is recognised, its service and method, and what its `grpc-status` says.

use crate::span::recording::{Failure, Outcome};
use crate::span::start::SpanAttrs;
use ::http::HeaderMap;
use opentelemetry::Value;
use opentelemetry::{Key, KeyValue};
use std::borrow::Cow;

const RPC_SYSTEM: Key = Key::from_static_str("rpc.system");
const RPC_SERVICE: Key = Key::from_static_str("rpc.service");
const RPC_METHOD: Key = Key::from_static_str("rpc.method");
const RPC_GRPC_STATUS_CODE: Key = Key::from_static_str("rpc.grpc.status_code");

/// The status codes of gRPC, by number.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The codes the conventions count as the server's failure: UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. Any other
/// code is the caller's business and leaves a server span's status Unset.
const SERVER_ERRORS: [i64; 6] = [2, 4, 12, 13, 14, 15];

/// Which side of the call a span is on: a client span fails on every code but OK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Server,
    Client,
}

/// A gRPC request: its content type is `application/grpc` or `application/grpc+…`.
pub(super) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim_start();
            v.len() >= 16
                && v[..16].eq_ignore_ascii_case("application/grpc")
                && matches!(v.as_bytes().get(16), None | Some(b'+' | b';'))
        })
}

/// `/package.Service/Method` → (`package.Service`, `Method`); `None` for a path
/// of another shape.
pub(super) fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// An RPC span's name and attributes from the request's path: named
/// `{package.Service}/{Method}`, with `rpc.system`, `rpc.service` and
/// `rpc.method`. A path of another shape leaves the span named `gRPC` (a name a
/// caller chooses is not a span name).
pub(super) fn record_call(span: &mut SpanAttrs<'_>, path: &str) {
    span.attr(RPC_SYSTEM, Some(Value::from("grpc")));
    if let Some((service, method)) = service_and_method(path) {
        span.name(format!("{service}/{method}"));
        span.attr(RPC_SERVICE, Some(Value::from(service.to_owned())));
        span.attr(RPC_METHOD, Some(Value::from(method.to_owned())));
    }
}

/// The `grpc-status` in a response's headers (a trailers-only response) or
/// trailers, with its `grpc-message`.
pub(super) fn status(headers: &HeaderMap) -> Option<(i64, Option<String>)> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    // The message is percent-encoded on the wire.
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|v| !v.is_empty());
    Some((code, message))
}

/// The gRPC code a client reports for an HTTP response that carries no
/// `grpc-status` (a proxy's answer), per gRPC's HTTP-to-gRPC status mapping.
pub(super) fn code_for_http_status(status: u16) -> i64 {
    match status {
        400 => 13,             // INTERNAL
        401 => 16,             // UNAUTHENTICATED
        403 => 7,              // PERMISSION_DENIED
        404 => 12,             // UNIMPLEMENTED
        429 | 502..=504 => 14, // UNAVAILABLE
        _ => 2,                // UNKNOWN
    }
}

/// A gRPC response that ended without any `grpc-status`: UNKNOWN, as a client
/// reports it.
pub(super) fn missing_status(side: Side) -> Outcome {
    status_outcome(
        2,
        Some("the response ended without a grpc-status".to_owned()),
        side,
    )
}

/// What a `grpc-status` says of the call: `rpc.grpc.status_code`, and for a code
/// that is a failure on this side status Error with `error.type` = the code's
/// name (`INTERNAL`) and the `grpc-message` as description. No `exception`
/// event: a status is an answer, not an exception in this process.
pub(super) fn status_outcome(code: i64, message: Option<String>, side: Side) -> Outcome {
    let failed = match side {
        Side::Server => SERVER_ERRORS.contains(&code),
        Side::Client => code != 0,
    };
    let name = usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .map_or_else(|| Cow::Owned(code.to_string()), |n| Cow::Borrowed(*n));
    Outcome {
        failure: failed.then(|| Failure {
            message: message.unwrap_or_else(|| name.clone().into_owned()),
            type_name: name,
            panic: None,
            exception: false,
        }),
        ret: None,
        attributes: vec![KeyValue::new(RPC_GRPC_STATUS_CODE, code)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(::http::header::CONTENT_TYPE, v.parse().unwrap());
            is_grpc(&h)
        };
        assert!(with("application/grpc"));
        assert!(with("application/grpc+proto"));
        assert!(with("Application/GRPC;charset=utf-8"));
        assert!(!with("application/grpc-web"));
        assert!(!with("application/json"));
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn paths() {
        assert_eq!(
            service_and_method("/grpc.health.v1.Health/Check"),
            Some(("grpc.health.v1.Health", "Check"))
        );
        assert_eq!(service_and_method("/Health/"), None);
        assert_eq!(service_and_method("/a/b/c"), None);
        assert_eq!(service_and_method("health"), None);
    }

    #[test]
    fn which_codes_fail_on_which_side() {
        let fails = |code, side| status_outcome(code, None, side).failure.is_some();
        for code in 0..=16 {
            assert_eq!(
                fails(code, Side::Server),
                [2, 4, 12, 13, 14, 15].contains(&code),
                "{code}"
            );
            assert_eq!(fails(code, Side::Client), code != 0, "{code}");
        }
        let outcome = status_outcome(13, Some("disk full".into()), Side::Server);
        let failure = outcome.failure.unwrap();
        assert_eq!(failure.type_name, "INTERNAL");
        assert_eq!(failure.message, "disk full");
        assert!(!failure.exception);
    }

    #[test]
    fn http_statuses_without_a_grpc_status() {
        assert_eq!(code_for_http_status(404), 12);
        assert_eq!(code_for_http_status(503), 14);
        assert_eq!(code_for_http_status(200), 2);
    }

    #[test]
    fn status_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", "5".parse().unwrap());
        h.insert("grpc-message", "no%20such%20thing".parse().unwrap());
        assert_eq!(status(&h), Some((5, Some("no such thing".into()))));
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(status(&h), None);
    }
}
