//! Span start: the slow half of the hot path, reached only when [`crate::enabled`]
//! is true. Attribute expressions run only once the sampler has kept the span.

use crate::context::carrier::ExtractCarrier;
use crate::context::propagation;
use crate::span::recording::Recording;
use crate::span::site::Site;
use opentelemetry::Context;
use opentelemetry::trace::{Link, SpanContext, TraceContextExt};

pub use crate::span::attrs::SpanAttrs;

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

    /// Without the `sdk` feature nothing can be installed to record the span.
    #[cfg(not(feature = "sdk"))]
    fn start_dyn(self, _record: &mut dyn FnMut(&mut SpanAttrs<'_>)) -> Option<Recording> {
        None
    }

    #[cfg(feature = "sdk")]
    fn start_dyn(self, record: &mut dyn FnMut(&mut SpanAttrs<'_>)) -> Option<Recording> {
        use crate::pipeline::attribute::{Attribute, Attributes};
        use crate::span::tracer::Recorder;
        use crate::span::{start_record, start_sdk, tracer};
        let site = self.site;
        // `base` is what the new span's context is built on; the sampler sees
        // `parent` (borrowed: no extra context clone on the common path).
        let new_trace = matches!(self.parent, Parent::Root(_));
        let base = match self.parent {
            Parent::Remote(remote) | Parent::Root(Some(remote)) => remote,
            Parent::Current | Parent::Root(None) => Context::current(),
        };
        let no_parent = Context::new();
        let parent = if new_trace { &no_parent } else { &base };
        // No lock is held from here on: the attribute code is the user's.
        let responsible = tracer::tracer_for(&base)?;
        // The exporter's own work records nothing, metrics included.
        let metered = site.has_metrics() && responsible.meters() && !base.is_telemetry_suppressed();
        let recording = match responsible.recorder() {
            Recorder::Own(own, sampler) => start_record::start(
                site, &base, parent, self.links, own, sampler, record, metered,
            ),
            Recorder::Sdk(installed) => {
                const LOCATION_ATTRS: usize = 3;
                let mut attributes =
                    Attributes::with_capacity(LOCATION_ATTRS * usize::from(site.code) + site.attrs);
                if site.code {
                    attributes.extend(site.code_attributes().map(Attribute::from));
                }
                let tracer = installed.for_site(site);
                start_sdk::start(
                    site,
                    &base,
                    parent,
                    self.links,
                    &tracer,
                    installed.sampler,
                    attributes,
                    record,
                    metered,
                )
            }
        };
        Some(recording)
    }
}
