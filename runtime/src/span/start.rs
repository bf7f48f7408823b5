//! Span start: the slow half of the hot path, reached only when [`crate::enabled`]
//! is true. Attribute expressions run only once the sampler has kept the span.

use crate::context::carrier::ExtractCarrier;
use crate::context::propagation;
use crate::span::job;
use crate::span::recording::Recording;
use crate::span::site::Site;
use crate::span::tracer;
use opentelemetry::trace::{
    Link, Span as _, SpanBuilder, SpanContext, TraceContextExt, TraceFlags, Tracer as _,
};
use opentelemetry::{Context, Key, KeyValue, Value};
use opentelemetry_sdk::trace::Span as SdkSpan;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

const CODE_FUNCTION: Key = Key::from_static_str("code.function.name");
const CODE_FILE: Key = Key::from_static_str("code.file.path");
const CODE_LINE: Key = Key::from_static_str("code.line.number");
const LOCATION_ATTRS: usize = 3;
const JOB_ATTRS: usize = 2;

enum Parent {
    /// The current context's span (the default for `#[span]`).
    Current,
    /// No parent: a new trace, on top of the current context or (when a carrier
    /// held no valid trace context) of what the carrier did hold, its baggage.
    Root(Option<Context>),
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
        self.parent = Parent::Root(None);
        self
    }

    /// Continues the trace found in `carrier`; a new trace when it holds no valid
    /// context.
    pub fn parent<Via, C: ExtractCarrier<Via> + ?Sized>(mut self, carrier: &C) -> Self {
        let current = Context::current();
        let extracted = propagation::extract_with_context(&current, carrier);
        let remote = extracted.span().span_context().clone();
        // An invalid or absent header leaves the current span in place: not a parent.
        self.parent = if remote.is_valid() && remote != *current.span().span_context() {
            Parent::Remote(extracted)
        } else {
            Parent::Root(Some(extracted))
        };
        self
    }

    /// Links the span to the context found in `carrier`, if there is one.
    pub fn link<Via, C: ExtractCarrier<Via> + ?Sized>(mut self, carrier: &C) -> Self {
        let extracted = propagation::extract_with_context(&Context::new(), carrier);
        let remote: SpanContext = extracted.span().span_context().clone();
        if remote.is_valid() {
            self.links.push(Link::with_context(remote));
        }
        self
    }

    /// Starts the span. `record` runs only if the sampler keeps the span; it names
    /// the span from a template and sets the attributes.
    ///
    /// A thin generic shell over one compiled start: each annotated function
    /// compiles only its own attribute code, not the span start around it.
    #[inline]
    pub fn start(self, record: impl FnOnce(&mut SpanAttrs<'_>)) -> Option<Recording> {
        let mut record = Some(record);
        self.start_dyn(&mut |attrs: &mut SpanAttrs<'_>| {
            if let Some(record) = record.take() {
                record(attrs);
            }
        })
    }

    fn start_dyn(self, record: &mut dyn FnMut(&mut SpanAttrs<'_>)) -> Option<Recording> {
        let site = self.site;
        // `base` is what the new span's context is built on; the sampler and the SDK
        // see `parent` (borrowed: no extra context clone on the common path).
        let new_trace = matches!(self.parent, Parent::Root(_));
        let base = match self.parent {
            Parent::Remote(remote) | Parent::Root(Some(remote)) => remote,
            Parent::Current | Parent::Root(None) => Context::current(),
        };
        let no_parent = Context::new();
        let parent = if new_trace { &no_parent } else { &base };
        let links = self.links;
        // No lock is held from here on: the attribute code below is the user's.
        let responsible = tracer::tracer_for(&base)?;
        let (tracer, sampler) = responsible.for_site(site);
        let mut attributes = Vec::with_capacity(
            JOB_ATTRS * usize::from(site.job)
                + LOCATION_ATTRS * usize::from(site.code)
                + site.attrs,
        );
        if site.job {
            // First, so that the attribute limit can never drop them.
            job::placeholders(&mut attributes);
        }
        if site.code {
            attributes.push(KeyValue::new(
                CODE_FUNCTION,
                Value::String(site.function.into()),
            ));
            attributes.push(KeyValue::new(CODE_FILE, Value::String(site.file.into())));
            attributes.push(KeyValue::new(CODE_LINE, Value::I64(i64::from(site.line))));
        }
        let mut name = Cow::Borrowed(site.name);
        let predicted = sampler.predict(parent);
        let mut panicked = None;
        if predicted == Some(true) {
            // Known to be recorded: attributes go in at build time, the cheapest way.
            let mut target = SpanAttrs(Target::Builder {
                attributes: &mut attributes,
                name: &mut name,
            });
            panicked = catch_unwind(AssertUnwindSafe(|| record(&mut target))).err();
        }
        // Fields set in place: `with_attributes` would collect the vector again.
        let mut builder = SpanBuilder::from_name(name);
        builder.span_kind = Some(site.kind.clone());
        builder.attributes = Some(attributes);
        if !links.is_empty() {
            builder.links = Some(links);
        }
        let mut span = tracer.build_with_context(builder, parent);
        let recording = span.is_recording();
        if let (None, true) = (predicted, recording) {
            let mut target = SpanAttrs(Target::Span(&mut span));
            panicked = catch_unwind(AssertUnwindSafe(|| record(&mut target))).err();
        }
        let cx = if !recording && parent_random(parent) {
            // The SDK clears every flag of a span its sampler drops; the random
            // trace-id flag (W3C Level 2) describes the trace id and goes on.
            with_random_flag(&base, &span)
        } else {
            // The span (a few hundred bytes) moves once, into its context, here.
            base.with_span(span)
        };
        let recording = Recording::new(cx, recording.then_some(site));
        if let Some(payload) = panicked {
            // An attribute expression or name template panicked: the span records
            // the panic and ends; the panic goes on, and the body never runs.
            end_with_panic(recording, payload);
        }
        Some(recording)
    }
}

/// The W3C Level 2 random trace-id flag.
const RANDOM: u8 = 0x02;

#[inline]
fn parent_random(parent: &Context) -> bool {
    parent.has_active_span() && parent.span().span_context().trace_flags().to_u8() & RANDOM != 0
}

#[cold]
#[inline(never)]
fn with_random_flag(base: &Context, dropped: &SdkSpan) -> Context {
    let sc = dropped.span_context();
    base.with_remote_span_context(SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        TraceFlags::new(RANDOM),
        false,
        sc.trace_state().clone(),
    ))
}

#[cold]
#[inline(never)]
fn end_with_panic(recording: Recording, payload: Box<dyn std::any::Any + Send>) -> ! {
    recording.end_panicked(&*payload);
    resume_unwind(payload)
}

/// The span being started, as the generated attribute code sees it: either its
/// builder (when the sampler is known to keep it) or the started span.
pub struct SpanAttrs<'a>(Target<'a>);

enum Target<'a> {
    Builder {
        attributes: &'a mut Vec<KeyValue>,
        name: &'a mut Cow<'static, str>,
    },
    Span(&'a mut SdkSpan),
}

impl SpanAttrs<'_> {
    /// Sets an attribute; `None` records nothing.
    #[inline]
    pub fn attr(&mut self, key: Key, value: Option<Value>) {
        if let Some(value) = value {
            match &mut self.0 {
                Target::Builder { attributes, .. } => attributes.push(KeyValue::new(key, value)),
                Target::Span(span) => span.set_attribute(KeyValue::new(key, value)),
            }
        }
    }

    /// Replaces the span name (a filled-in name template).
    pub fn name(&mut self, name: String) {
        match &mut self.0 {
            Target::Builder { name: slot, .. } => **slot = Cow::Owned(name),
            Target::Span(span) => span.update_name(name),
        }
    }
}
