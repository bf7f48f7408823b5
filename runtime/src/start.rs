//! Span start: the slow half of the hot path, reached only when [`crate::enabled`]
//! is true. Attribute expressions run only once the sampler has kept the span.

use crate::propagation;
use crate::recording::{JobStarted, Recording};
use crate::tracer;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{
    Link, Span as _, SpanBuilder, SpanContext, SpanKind, TraceContextExt, Tracer as _,
};
use opentelemetry::{Context, Key, KeyValue, Value};
use opentelemetry_sdk::trace::Span as SdkSpan;
use std::borrow::Cow;
use std::time::Instant;

/// What the macro knows statically about one annotated function.
#[derive(Debug)]
pub struct Site {
    /// The span name, or the name template before its parameters are filled in.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
    /// `code.function.name`: module path and function name.
    pub function: &'static str,
    /// `code.file.path`.
    pub file: &'static str,
    /// `code.line.number`.
    pub line: u32,
    /// How many attributes the macro may add, to size the attribute list once.
    pub attrs: usize,
    /// Set status Ok when the function succeeds.
    pub status_ok: bool,
    /// A `#[traced_job]`: record `job.status` and `job.duration_ms` at the end.
    pub job: bool,
}

const CODE_FUNCTION: Key = Key::from_static_str("code.function.name");
const CODE_FILE: Key = Key::from_static_str("code.file.path");
const CODE_LINE: Key = Key::from_static_str("code.line.number");
const LOCATION_ATTRS: usize = 3;

enum Parent {
    /// The current context's span (the default for `#[span]`).
    Current,
    /// No parent: a new trace.
    Root,
    /// The remote span context found in a carrier, with the carrier's baggage.
    Remote(Context),
}

/// A span about to start: parent and links are settled before the sampler runs.
#[must_use = "call `.start(..)` to start the span"]
pub struct Start {
    site: &'static Site,
    parent: Parent,
    links: Vec<Link>,
}

impl Start {
    /// A span for `site`, child of the current span.
    #[inline]
    pub fn new(site: &'static Site) -> Self {
        Start {
            site,
            parent: Parent::Current,
            links: Vec::new(),
        }
    }

    /// Starts a new trace.
    #[inline]
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    /// Continues the trace found in `carrier`; a new trace when it holds no valid
    /// context.
    pub fn parent<E: Extractor>(mut self, carrier: &E) -> Self {
        let current = Context::current();
        let extracted = propagation::extract_with_context(&current, carrier);
        let remote = extracted.span().span_context().clone();
        // An invalid or absent header leaves the current span in place: not a parent.
        self.parent = if remote.is_valid() && remote != *current.span().span_context() {
            Parent::Remote(extracted)
        } else {
            Parent::Root
        };
        self
    }

    /// Links the span to the context found in `carrier`, if there is one.
    pub fn link<E: Extractor>(mut self, carrier: &E) -> Self {
        let extracted = propagation::extract_with_context(&Context::new(), carrier);
        let remote: SpanContext = extracted.span().span_context().clone();
        if remote.is_valid() {
            self.links.push(Link::with_context(remote));
        }
        self
    }

    /// Starts the span. `record` runs only if the sampler keeps the span; it names
    /// the span from a template and sets the attributes.
    pub fn start(self, record: impl FnOnce(&mut SpanAttrs<'_>)) -> Option<Recording> {
        let site = self.site;
        let current = Context::current();
        let (parent, base) = match self.parent {
            Parent::Current => (current.clone(), current),
            Parent::Root => (Context::new(), current),
            Parent::Remote(remote) => (remote.clone(), remote),
        };
        let mut attributes = Vec::with_capacity(LOCATION_ATTRS + site.attrs);
        attributes.push(KeyValue::new(
            CODE_FUNCTION,
            Value::String(site.function.into()),
        ));
        attributes.push(KeyValue::new(CODE_FILE, Value::String(site.file.into())));
        attributes.push(KeyValue::new(CODE_LINE, Value::I64(i64::from(site.line))));
        let mut builder = SpanBuilder::from_name(Cow::Borrowed(site.name))
            .with_kind(site.kind.clone())
            .with_attributes(attributes);
        if !self.links.is_empty() {
            builder = builder.with_links(self.links);
        }
        let mut span =
            tracer::with_tracer(&base, |tracer| tracer.build_with_context(builder, &parent))?;
        if span.is_recording() {
            record(&mut SpanAttrs { span: &mut span });
        }
        let base = if site.job {
            base.with_value(JobStarted(Instant::now()))
        } else {
            base
        };
        Some(Recording::new(base.with_span(span), site))
    }
}

/// The span being started, as the generated attribute code sees it.
pub struct SpanAttrs<'a> {
    span: &'a mut SdkSpan,
}

impl SpanAttrs<'_> {
    /// Sets an attribute; `None` records nothing.
    #[inline]
    pub fn attr(&mut self, key: Key, value: Option<Value>) {
        if let Some(value) = value {
            self.span.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Replaces the span name (a filled-in name template).
    pub fn name(&mut self, name: String) {
        self.span.update_name(name);
    }
}
