//! The current span, for code inside an annotated function's body.

use crate::span::recording::record_exception;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, Key, KeyValue, Value};
use std::any::type_name;
use std::borrow::Cow;
use std::fmt::Display;

/// A handle on the span that is current on this thread (see [`current`]).
/// Every method is a no-op outside a recorded span.
#[derive(Debug, Clone)]
pub struct CurrentSpan {
    cx: Context,
}

/// The current span: the innermost annotated function running on this thread
/// (or any other OpenTelemetry span made current).
///
/// ```
/// #[spanwright::span]
/// fn resize(width: u32) -> u32 {
///     spanwright::current().set_attribute("image.width", i64::from(width));
///     width / 2
/// }
///
/// let (half, spans) = spanwright::testing::capture(|| resize(640));
/// assert_eq!(half, 320);
/// assert!(spans.named("resize").attributes.iter().any(|kv| kv.key.as_str() == "image.width"));
/// ```
pub fn current() -> CurrentSpan {
    CurrentSpan {
        cx: Context::current(),
    }
}

impl CurrentSpan {
    /// Sets an attribute on the span.
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) -> &Self {
        self.cx.span().set_attribute(KeyValue::new(key, value));
        self
    }

    /// Adds an event with attributes.
    pub fn add_event(
        &self,
        name: impl Into<Cow<'static, str>>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) -> &Self {
        self.cx
            .span()
            .add_event(name, attributes.into_iter().collect());
        self
    }

    /// Records an error as an annotated function's `Err` is recorded: status Error
    /// with its message, `error.type`, and an `exception` event.
    pub fn record_error<E: Display + ?Sized>(&self, error: &E) -> &Self {
        let span = self.cx.span();
        if span.is_recording() {
            record_exception(
                &span,
                Cow::Borrowed(type_name::<E>()),
                error.to_string(),
                Vec::new(),
            );
        }
        self
    }

    /// The trace id in hex, if there is a valid current span.
    pub fn trace_id(&self) -> Option<String> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.trace_id().to_string())
    }

    /// The span id in hex, if there is a valid current span.
    pub fn span_id(&self) -> Option<String> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.span_id().to_string())
    }
}
