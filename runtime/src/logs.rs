//! Log correlation (feature `tracing`): `tracing` events emitted inside an
//! annotated function carry the span's `trace_id` and `span_id`, and can be
//! recorded on the span itself.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::filter::LevelFilter::INFO) // what is worth a line
//!     .with(spanwright::logs::json_layer())               // JSON lines with trace ids
//!     .with(spanwright::logs::SpanEvents::at(tracing::Level::WARN)); // warnings and errors on the span
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! ```

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, Key, KeyValue};
use serde_json::{Map, Value as Json};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber` event format: one JSON object per line with
/// `timestamp`, `level`, `target`, `fields` (with `message`) and, inside a
/// recorded span, `trace_id` and `span_id` in the W3C hex form.
///
/// ```
/// let layer = tracing_subscriber::fmt::layer::<tracing_subscriber::Registry>()
///     .event_format(spanwright::logs::JsonWithTraceIds)
///     .with_writer(std::io::stderr);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonWithTraceIds;

impl<S, N> FormatEvent<S, N> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Json::String(timestamp));
        line.insert("level".into(), Json::String(metadata.level().to_string()));
        line.insert("target".into(), Json::String(metadata.target().to_owned()));
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        line.insert("fields".into(), Json::Object(fields.0));
        let cx = Context::current();
        let span = cx.span();
        let ids = span.span_context();
        if ids.is_valid() {
            line.insert("trace_id".into(), Json::String(ids.trace_id().to_string()));
            line.insert("span_id".into(), Json::String(ids.span_id().to_string()));
        }
        writeln!(writer, "{}", Json::Object(line))
    }
}

/// A layer writing [`JsonWithTraceIds`] lines to stdout.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::filter::LevelFilter::INFO)
///     .with(spanwright::logs::json_layer());
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = 7, "signed in"));
/// ```
pub fn json_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .event_format(JsonWithTraceIds)
        .with_filter(NotExporting::all())
}

/// A per-layer filter that passes nothing emitted while spanwright exports: the
/// export threads run in OpenTelemetry's suppressed-telemetry scope, so what the
/// exporter's own libraries (tonic, hyper, h2, ...) emit there never becomes a
/// span, a span event or a log line (which would be exported in turn, and feed
/// itself). Decided per span and event, never cached per call site.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotExporting {
    spans_only: bool,
}

impl NotExporting {
    pub(crate) fn spans() -> Self {
        NotExporting { spans_only: true }
    }

    fn all() -> Self {
        NotExporting { spans_only: false }
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for NotExporting {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _cx: &LayerContext<'_, S>) -> bool {
        (!self.spans_only || metadata.is_span()) && !Context::is_current_telemetry_suppressed()
    }

    fn callsite_enabled(&self, metadata: &'static tracing::Metadata<'static>) -> Interest {
        if self.spans_only && !metadata.is_span() {
            Interest::never()
        } else {
            // Depends on the thread: asked again for every span and event.
            Interest::sometimes()
        }
    }
}

struct JsonFields(Map<String, Json>);

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Json::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Json::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Json::String(format!("{value:?}")));
    }
}

/// A layer that records `tracing` events at `level` or more severe as events on
/// the current span: named `log`, with `log.severity`, `log.message`, the target
/// as `code.namespace`, and the event's other fields under their own names.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// #[spanwright::span]
/// fn sync_files() {
///     tracing::error!(files = 3, "disk full");
/// }
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::filter::LevelFilter::INFO)
///     .with(spanwright::logs::SpanEvents::at(tracing::Level::ERROR));
/// let ((), spans) = tracing::subscriber::with_default(subscriber, || spanwright::testing::capture(sync_files));
/// assert_eq!(spans.named("sync_files").events[0].name, "log");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SpanEvents {
    level: Level,
}

impl SpanEvents {
    /// Records events at `level` or more severe.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// // Warnings and errors become span events; info and below do not.
    /// let layer = spanwright::logs::SpanEvents::at(tracing::Level::WARN);
    /// let _subscriber = tracing_subscriber::registry()
    ///     .with(tracing_subscriber::filter::LevelFilter::INFO)
    ///     .with(layer);
    /// ```
    pub fn at(level: Level) -> Self {
        SpanEvents { level }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for SpanEvents {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let metadata = event.metadata();
        // `Level` orders verbose above severe: TRACE > .. > ERROR.
        if *metadata.level() > self.level || Context::is_current_telemetry_suppressed() {
            return;
        }
        let cx = Context::current();
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let mut fields = OtelFields(vec![
            KeyValue::new("log.severity", metadata.level().to_string()),
            KeyValue::new("code.namespace", metadata.target()),
        ]);
        event.record(&mut fields);
        span.add_event("log", fields.0);
    }
}

struct OtelFields(Vec<KeyValue>);

impl OtelFields {
    fn key(field: &Field) -> Key {
        match field.name() {
            "message" => Key::from_static_str("log.message"),
            name => Key::from_static_str(name),
        }
    }
}

impl Visit for OtelFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .push(KeyValue::new(Self::key(field), value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(KeyValue::new(Self::key(field), value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = i64::try_from(value).map_or_else(
            |_| opentelemetry::Value::from(value.to_string()),
            opentelemetry::Value::I64,
        );
        self.0.push(KeyValue::new(Self::key(field), value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(KeyValue::new(Self::key(field), value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(KeyValue::new(Self::key(field), value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .push(KeyValue::new(Self::key(field), format!("{value:?}")));
    }
}
