//! What trace context travels in: every type implementing OpenTelemetry's
//! [`Extractor`] / [`Injector`] (`HashMap<String, String>`, your own message
//! headers), and with the feature `http`, `http::HeaderMap` directly.
//!
//! [`crate::extract`], [`crate::inject`] and the macros' `parent =` and `link =`
//! take any carrier. You never name these traits: the type parameter `Via` only
//! tells the two kinds of carrier apart (`HeaderMap` does not implement
//! `Extractor`, and neither crate can add that impl here).
//!
//! ```
//! use std::collections::HashMap;
//!
//! #[spanwright::span(kind = consumer, parent = headers)]
//! fn handle(headers: &HashMap<String, String>) -> Option<String> {
//!     let mut outgoing = HashMap::new();
//!     spanwright::inject(&mut outgoing);
//!     outgoing.remove("traceparent")
//! }
//!
//! let incoming = HashMap::from([(
//!     "traceparent".to_string(),
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
//! )]);
//! let (sent, _spans) = spanwright::testing::capture(|| handle(&incoming));
//! assert!(sent.unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! ```

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

/// `Via` for carriers implementing OpenTelemetry's `Extractor` / `Injector`.
///
/// ```
/// fn carry<Via>(carrier: &mut impl spanwright::carrier::InjectCarrier<Via>) {
///     spanwright::inject(carrier);
/// }
/// let mut headers = std::collections::HashMap::<String, String>::new();
/// carry::<spanwright::carrier::ViaOpenTelemetry>(&mut headers);
/// ```
#[derive(Debug)]
pub enum ViaOpenTelemetry {}

/// `Via` for `http::HeaderMap` (feature `http`).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// spanwright::inject(&mut headers); // Via = ViaHeaderMap, inferred
/// ```
#[cfg(feature = "http")]
#[derive(Debug)]
pub enum ViaHeaderMap {}

/// A carrier trace context can be read from.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a carrier of trace context",
    label = "not a carrier",
    note = "a carrier is `HashMap<String, String>`, any type implementing `opentelemetry::propagation::Extractor`, or `http::HeaderMap` with the feature `http`"
)]
///
/// ```
/// fn continued<Via>(carrier: &impl spanwright::carrier::ExtractCarrier<Via>) -> bool {
///     use spanwright::opentelemetry::trace::TraceContextExt;
///     spanwright::extract(carrier).span().span_context().is_valid()
/// }
/// assert!(!continued(&std::collections::HashMap::<String, String>::new()));
/// ```
pub trait ExtractCarrier<Via> {
    /// Extracts with `propagator` on top of `cx`.
    fn extract_with(&self, propagator: &dyn TextMapPropagator, cx: &Context) -> Context;
}

/// A carrier trace context can be written into.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a carrier of trace context",
    label = "not a carrier",
    note = "a carrier is `HashMap<String, String>`, any type implementing `opentelemetry::propagation::Injector`, or `http::HeaderMap` with the feature `http`"
)]
///
/// ```
/// fn send<Via>(carrier: &mut impl spanwright::carrier::InjectCarrier<Via>) {
///     spanwright::inject(carrier);
/// }
/// let mut headers = std::collections::HashMap::<String, String>::new();
/// send(&mut headers);
/// assert!(headers.is_empty()); // outside any span there is nothing to carry
/// ```
pub trait InjectCarrier<Via> {
    /// Injects `cx` with `propagator`.
    fn inject_with(&mut self, propagator: &dyn TextMapPropagator, cx: &Context);
}

impl<T: Extractor> ExtractCarrier<ViaOpenTelemetry> for T {
    fn extract_with(&self, propagator: &dyn TextMapPropagator, cx: &Context) -> Context {
        propagator.extract_with_context(cx, self)
    }
}

impl ExtractCarrier<ViaOpenTelemetry> for dyn Extractor + '_ {
    fn extract_with(&self, propagator: &dyn TextMapPropagator, cx: &Context) -> Context {
        propagator.extract_with_context(cx, self)
    }
}

impl<T: Injector> InjectCarrier<ViaOpenTelemetry> for T {
    fn inject_with(&mut self, propagator: &dyn TextMapPropagator, cx: &Context) {
        propagator.inject_context(cx, self);
    }
}

impl InjectCarrier<ViaOpenTelemetry> for dyn Injector + '_ {
    fn inject_with(&mut self, propagator: &dyn TextMapPropagator, cx: &Context) {
        propagator.inject_context(cx, self);
    }
}

#[cfg(feature = "http")]
mod header_map {
    use super::{ExtractCarrier, InjectCarrier, ViaHeaderMap};
    use ::http::header::{HeaderMap, HeaderName, HeaderValue};
    use opentelemetry::Context;
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

    struct Reading<'a>(&'a HeaderMap);

    impl Extractor for Reading<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(HeaderName::as_str).collect()
        }

        /// Every line of a repeated header (`tracestate`, `baggage`), in order.
        fn get_all(&self, key: &str) -> Option<Vec<&str>> {
            let lines: Vec<&str> = self
                .0
                .get_all(key)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!lines.is_empty()).then_some(lines)
        }
    }

    struct Writing<'a>(&'a mut HeaderMap);

    impl Injector for Writing<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }

    impl ExtractCarrier<ViaHeaderMap> for HeaderMap {
        fn extract_with(&self, propagator: &dyn TextMapPropagator, cx: &Context) -> Context {
            propagator.extract_with_context(cx, &Reading(self))
        }
    }

    impl InjectCarrier<ViaHeaderMap> for HeaderMap {
        fn inject_with(&mut self, propagator: &dyn TextMapPropagator, cx: &Context) {
            propagator.inject_context(cx, &mut Writing(self));
        }
    }
}
