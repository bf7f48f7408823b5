//! Trace context across process boundaries: W3C `traceparent` / `tracestate` and
//! `baggage` by default, or whatever [`crate::init`] configured.

use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use std::sync::{LazyLock, RwLock};

type Propagator = Box<dyn TextMapPropagator + Send + Sync>;

static CONFIGURED: RwLock<Option<Propagator>> = RwLock::new(None);

static DEFAULT: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

fn with_propagator<R>(f: impl FnOnce(&dyn TextMapPropagator) -> R) -> R {
    let configured = CONFIGURED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match configured.as_deref() {
        Some(propagator) => f(propagator),
        None => f(&*DEFAULT),
    }
}

/// Replaces the propagator (`None`: back to W3C trace context + baggage).
pub(crate) fn set_propagator(propagator: Option<Propagator>) {
    *CONFIGURED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = propagator;
}

/// Writes the current trace context into `carrier` (W3C `traceparent`,
/// `tracestate` and `baggage` unless configured otherwise).
///
/// ```
/// use std::collections::HashMap;
///
/// let mut headers = HashMap::new();
/// spanwright::inject(&mut headers);
/// // Outside any span there is nothing to carry.
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject(carrier: &mut dyn Injector) {
    let cx = Context::current();
    with_propagator(|p| p.inject_context(&cx, carrier));
}

/// Reads a trace context from `carrier`. A missing or malformed header gives a
/// context without a valid span, from which the next span starts a new trace.
///
/// ```
/// use spanwright::opentelemetry::trace::TraceContextExt;
/// use std::collections::HashMap;
///
/// let headers = HashMap::from([(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// )]);
/// let cx = spanwright::extract(&headers);
/// assert_eq!(
///     cx.span().span_context().trace_id().to_string(),
///     "4bf92f3577b34da6a3ce929d0e0e4736"
/// );
/// ```
pub fn extract(carrier: &dyn Extractor) -> Context {
    extract_with_context(&Context::new(), carrier)
}

pub(crate) fn extract_with_context(cx: &Context, carrier: &dyn Extractor) -> Context {
    with_propagator(|p| p.extract_with_context(cx, carrier))
}
