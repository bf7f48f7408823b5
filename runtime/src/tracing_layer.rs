//! `tracing` spans as spans of spanwright's pipeline (feature `tracing`).
//!
//! Built on tracing-opentelemetry's layer, handed a tracer that looks up
//! spanwright's installation for every span it starts: the layer can be set up
//! before or after [`crate::init`], follows a [`crate::testing::capture`], and
//! costs a non-recording span while nothing is installed. Nesting both ways
//! comes from the shared OpenTelemetry context: the layer makes an entered
//! `tracing` span the current context (so an annotated function called inside
//! it is its child), and takes a new `tracing` span's parent from the current
//! context (so a library span opened inside an annotated function is its child).
//! Events are left to `logs::SpanEvents`, but for one rule kept from
//! tracing-opentelemetry on the right span: an `ERROR` event directly in a
//! `tracing` span marks that span's status (`ErrorStatus`).

use crate::pipeline::live::LiveSpan;
use crate::span::start_record::start_bridged;
use crate::span::switch::enabled;
use crate::span::tracer::{Recorder, tracer_for};
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanId, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::span::Id;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber` layer that records `tracing` spans (from hyper, sqlx,
/// tokio, the AWS SDK, your own `#[tracing::instrument]`) as OpenTelemetry spans
/// of spanwright's pipeline: same exporter, sampler, limits and counters, and the
/// same trace as the annotated functions around them.
///
/// - a `tracing` span opened inside an annotated function is that function's child;
/// - an annotated function called inside an entered `tracing` span (or a future
///   `.instrument`ed with one) is that span's child;
/// - a span's fields are its attributes; the `otel.name`, `otel.kind` and
///   `otel.status_code` fields rename it, set its kind and its status (as in
///   tracing-opentelemetry, which this layer is built on);
/// - an `ERROR` event emitted directly in a `tracing` span (what
///   `#[tracing::instrument(err)]` emits for an `Err`) sets that span's status to
///   Error, with the event's message or `error` field as description.
///
/// Recording events on spans is not this layer's business:
/// [`logs::SpanEvents`](crate::logs::SpanEvents) records those at the level you
/// choose on the innermost span, whether a `tracing` span or an annotated function
/// (tracing-opentelemetry alone would put an event inside an annotated function on
/// the `tracing` span around it).
///
/// Install it once, in the same subscriber as the [`crate::logs`] layers if you
/// use them. It may be set up before [`crate::init`]: until telemetry is
/// installed (and after it is dropped) `tracing` spans are not recorded.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use spanwright::testing::SpanDataExt;
///
/// #[spanwright::span]
/// fn handler() {
///     // What a library does inside your function:
///     let query = tracing::info_span!("query", db.system = "postgresql");
///     let _entered = query.enter();
/// }
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::filter::LevelFilter::INFO)
///     .with(spanwright::tracing_layer());
/// let ((), spans) = tracing::subscriber::with_default(subscriber, || {
///     spanwright::testing::capture(handler)
/// });
/// let (query, handler) = (spans.named("query"), spans.named("handler"));
/// assert_eq!(query.parent_span_id, handler.span_context.span_id());
/// assert_eq!(query.span_context.trace_id(), handler.span_context.trace_id());
/// ```
pub fn tracing_layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(PipelineTracer)
        // Thread ids and idle/busy times are noise next to spanwright's own spans.
        .with_threads(false)
        .with_tracked_inactivity(false)
        // Events are `logs::SpanEvents`' business (see above); nothing the
        // export path does is recorded.
        .with_filter(crate::logs::NotExporting::spans())
        .and_then(ErrorStatus)
}

/// The OpenTelemetry span id of a `tracing` span, noted when it is first entered.
#[derive(Debug, Clone, Copy)]
struct OtelSpanId(SpanId);

/// Sets status Error on a `tracing` span that an `ERROR` event is emitted in
/// directly (what `#[tracing::instrument(err)]` emits for an `Err`), when it is
/// the innermost span: an annotated function in between records its own outcome.
struct ErrorStatus;

impl<S> Layer<S> for ErrorStatus
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        // Runs after tracing-opentelemetry's `on_enter`: the span is current now.
        let Some(span) = ctx.span(id) else { return };
        if span.extensions().get::<OtelSpanId>().is_some() {
            return;
        }
        let current = Context::current().span().span_context().span_id();
        if current != SpanId::INVALID {
            span.extensions_mut().insert(OtelSpanId(current));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let Some(OtelSpanId(id)) = span.extensions().get::<OtelSpanId>().copied() else {
            return;
        };
        let cx = Context::current();
        let innermost = cx.span();
        if innermost.span_context().span_id() != id || !innermost.is_recording() {
            return;
        }
        let mut description = Description::default();
        event.record(&mut description);
        innermost.set_status(Status::error(
            description
                .message
                .or(description.error)
                .unwrap_or_default(),
        ));
    }
}

/// An error event's description: its message, else its `error` field.
#[derive(Default)]
struct Description {
    message: Option<String>,
    error: Option<String>,
}

impl Visit for Description {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl Description {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = Some(value),
            "error" => self.error = Some(value),
            _ => {}
        }
    }
}

/// Starts each span with whatever spanwright has installed at that moment.
#[derive(Debug, Clone, Copy)]
struct PipelineTracer;

impl opentelemetry::trace::Tracer for PipelineTracer {
    type Span = LibrarySpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> LibrarySpan {
        if enabled()
            && let Some(tracer) = tracer_for(parent_cx)
        {
            return match tracer.recorder() {
                // spanwright's own record, as an annotated function's.
                Recorder::Own(own, sampler) => {
                    match start_bridged(builder, parent_cx, own, sampler) {
                        Ok(live) => LibrarySpan::Recorded(live),
                        Err(context) => LibrarySpan::Unrecorded(context),
                    }
                }
                // A provider handed over: its span objects.
                Recorder::Sdk(installed) => {
                    LibrarySpan::Sdk(installed.tracer.build_with_context(builder, parent_cx))
                }
            };
        }
        // Like OpenTelemetry's no-op tracer: carry the parent on, record nothing.
        LibrarySpan::Unrecorded(parent_cx.span().span_context().clone())
    }
}

/// A `tracing` span's OpenTelemetry span: spanwright's record, the SDK's span
/// (a provider handed over), or nothing.
// The SDK's span is not boxed: the context that holds it boxes it already.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum LibrarySpan {
    Recorded(LiveSpan),
    Sdk(opentelemetry_sdk::trace::Span),
    Unrecorded(SpanContext),
}

impl LibrarySpan {
    /// The span that records, if any.
    fn recording(&mut self) -> Option<&mut dyn RecordingSpan> {
        match self {
            LibrarySpan::Recorded(span) => Some(span),
            LibrarySpan::Sdk(span) => Some(span),
            LibrarySpan::Unrecorded(_) => None,
        }
    }
}

/// What `LibrarySpan` forwards, object-safe (the `Span` trait's generic
/// methods are not).
trait RecordingSpan {
    fn event(&mut self, name: Cow<'static, str>, timestamp: SystemTime, attributes: Vec<KeyValue>);
    fn attribute(&mut self, attribute: KeyValue);
    fn status(&mut self, status: Status);
    fn name(&mut self, name: Cow<'static, str>);
    fn link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>);
    fn end(&mut self, timestamp: SystemTime);
}

impl<T: opentelemetry::trace::Span> RecordingSpan for T {
    fn event(&mut self, name: Cow<'static, str>, timestamp: SystemTime, attributes: Vec<KeyValue>) {
        self.add_event_with_timestamp(name, timestamp, attributes);
    }
    fn attribute(&mut self, attribute: KeyValue) {
        self.set_attribute(attribute);
    }
    fn status(&mut self, status: Status) {
        self.set_status(status);
    }
    fn name(&mut self, name: Cow<'static, str>) {
        self.update_name(name);
    }
    fn link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.add_link(span_context, attributes);
    }
    fn end(&mut self, timestamp: SystemTime) {
        self.end_with_timestamp(timestamp);
    }
}

impl opentelemetry::trace::Span for LibrarySpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if let Some(span) = self.recording() {
            span.event(name.into(), timestamp, attributes);
        }
    }

    fn span_context(&self) -> &SpanContext {
        match self {
            LibrarySpan::Recorded(span) => span.span_context(),
            LibrarySpan::Sdk(span) => span.span_context(),
            LibrarySpan::Unrecorded(context) => context,
        }
    }

    fn is_recording(&self) -> bool {
        match self {
            LibrarySpan::Recorded(span) => span.is_recording(),
            LibrarySpan::Sdk(span) => span.is_recording(),
            LibrarySpan::Unrecorded(_) => false,
        }
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(span) = self.recording() {
            span.attribute(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(span) = self.recording() {
            span.status(status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(span) = self.recording() {
            span.name(new_name.into());
        }
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(span) = self.recording() {
            span.link(span_context, attributes);
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(span) = self.recording() {
            span.end(timestamp);
        }
    }
}
