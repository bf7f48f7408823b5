//! Trace context across process boundaries: W3C `traceparent` / `tracestate` and
//! `baggage` by default, or whatever [`crate::init`] configured.

use crate::context::baggage::W3cBaggage;
use crate::context::carrier::{ExtractCarrier, InjectCarrier};
use crate::context::trace_context::W3cTraceContext;
use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use std::sync::{Arc, LazyLock, RwLock};

/// A propagator shared between spanwright and the OpenTelemetry global.
pub(crate) type Propagator = Arc<dyn TextMapPropagator + Send + Sync>;

static CONFIGURED: RwLock<Option<Propagator>> = RwLock::new(None);

static DEFAULT: LazyLock<Propagator> = LazyLock::new(|| {
    Arc::new(TextMapCompositePropagator::new(vec![
        Box::new(W3cTraceContext),
        Box::new(W3cBaggage),
    ]))
});

/// W3C trace context and baggage: the default.
pub(crate) fn default_propagator() -> Propagator {
    Arc::clone(&DEFAULT)
}

/// The propagator in force. The lock is released before it is used: a carrier is
/// user code, which may itself extract or inject.
fn propagator() -> Propagator {
    let configured = CONFIGURED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    configured.unwrap_or_else(|| Arc::clone(&DEFAULT))
}

/// Replaces the propagator (`None`: back to W3C trace context + baggage), and
/// makes it the OpenTelemetry global propagator too (`None`: the no-op one, the
/// global's own default), so hand-written code propagates the same way.
pub(crate) fn set_propagator(configured: Option<Propagator>) {
    let global: Propagator = match &configured {
        Some(propagator) => Arc::clone(propagator),
        None => Arc::new(opentelemetry::trace::noop::NoopTextMapPropagator::new()),
    };
    *CONFIGURED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = configured;
    opentelemetry::global::set_text_map_propagator(Shared(global));
}

/// The configured propagator as the global one.
#[derive(Debug)]
struct Shared(Propagator);

impl TextMapPropagator for Shared {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.0.extract_with_context(cx, extractor)
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.0.fields()
    }
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
///
/// `carrier` is any [carrier](crate::carrier): `HashMap<String, String>`, a type
/// implementing OpenTelemetry's `Injector`, or `http::HeaderMap` (feature `http`).
pub fn inject<Via, C: InjectCarrier<Via> + ?Sized>(carrier: &mut C) {
    carrier.inject_with(&*propagator(), &Context::current());
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
///
/// `carrier` is any [carrier](crate::carrier), as for [`inject`]. Only a valid
/// W3C `traceparent` is continued (see the crate docs on propagation).
pub fn extract<Via, C: ExtractCarrier<Via> + ?Sized>(carrier: &C) -> Context {
    extract_with_context(&Context::new(), carrier)
}

pub(crate) fn extract_with_context<Via, C: ExtractCarrier<Via> + ?Sized>(
    cx: &Context,
    carrier: &C,
) -> Context {
    carrier.extract_with(&*propagator(), cx)
}
