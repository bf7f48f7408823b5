//! The current span, for code inside an annotated function's body.

use crate::span::recording::record_exception;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, Key, KeyValue, Value};
use std::any::type_name;
use std::borrow::Cow;
use std::fmt::Display;

/// A handle on the span that is current on this thread (see [`current`]).
/// Every method is a no-op outside a recorded span.
///
/// ```
/// #[spanwright::span]
/// fn work() {
///     spanwright::current().set_attribute("rows", 3_i64).add_event("flushed", []);
/// }
/// let ((), spans) = spanwright::testing::capture(work);
/// assert_eq!(spans[0].events[0].name, "flushed");
/// ```
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
    ///
    /// ```
    /// use spanwright::testing::SpanDataExt;
    /// #[spanwright::span]
    /// fn work() { spanwright::current().set_attribute("cache.hit", true); }
    /// let ((), spans) = spanwright::testing::capture(work);
    /// assert_eq!(spans[0].attr("cache.hit"), Some(&spanwright::opentelemetry::Value::Bool(true)));
    /// ```
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) -> &Self {
        self.cx.span().set_attribute(KeyValue::new(key, value));
        self
    }

    /// Adds an event with attributes.
    ///
    /// ```
    /// use spanwright::opentelemetry::KeyValue;
    /// #[spanwright::span]
    /// fn work() { spanwright::current().add_event("retry", [KeyValue::new("attempt", 2)]); }
    /// let ((), spans) = spanwright::testing::capture(work);
    /// assert_eq!(spans[0].events[0].name, "retry");
    /// ```
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
    ///
    /// ```
    /// use spanwright::opentelemetry::trace::Status;
    /// #[spanwright::span]
    /// fn work() {
    ///     let error = std::io::Error::other("disk full");
    ///     spanwright::current().record_error(&error); // handled, but worth recording
    /// }
    /// let ((), spans) = spanwright::testing::capture(work);
    /// assert_eq!(spans[0].status, Status::error("disk full"));
    /// ```
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
    ///
    /// ```
    /// #[spanwright::span]
    /// fn work() -> Option<String> { spanwright::current().trace_id() }
    /// let (id, _) = spanwright::testing::capture(work);
    /// assert_eq!(id.unwrap().len(), 32);
    /// assert_eq!(spanwright::current().trace_id(), None); // outside any span
    /// ```
    pub fn trace_id(&self) -> Option<String> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.trace_id().to_string())
    }

    /// The span id in hex, if there is a valid current span.
    ///
    /// ```
    /// #[spanwright::span]
    /// fn work() -> Option<String> { spanwright::current().span_id() }
    /// let (id, spans) = spanwright::testing::capture(work);
    /// assert_eq!(id.unwrap(), spans[0].span_context.span_id().to_string());
    /// ```
    pub fn span_id(&self) -> Option<String> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.span_id().to_string())
    }
}
