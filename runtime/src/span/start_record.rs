//! Span start into spanwright's own record: ids from the thread's generator,
//! the sampler's decision before any attribute code runs, and the record moved
//! once, into the context, behind its live handle.

use crate::pipeline::attribute::{Attribute, Attributes};
use crate::pipeline::held::{HeldTrace, Holding, InHeldTrace};
use crate::pipeline::live::LiveSpan;
use crate::pipeline::record::{Code, Record};
use crate::pipeline::sink::Sink;
use crate::pipeline::{clock, ids};
use crate::span::attrs::{SpanAttrs, Target, run_attribute_code};
use crate::span::recording::{Recording, drop_list, end_with_panic};
use crate::span::sampling::{RANDOM, SamplerKind};
use crate::span::site::Site;
use crate::span::tracer::Own;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::{SamplingDecision, SpanLimits};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

#[allow(clippy::too_many_arguments)]
// the one call in span start
// Inlined into it: a call with this many arguments costs more than its body saves.
#[inline(always)]
pub(super) fn start(
    site: &'static Site,
    base: &Context,
    parent: &Context,
    links: Vec<Link>,
    own: &Own,
    sampler: SamplerKind,
    record: &mut dyn FnMut(&mut SpanAttrs<'_>),
    metered: bool,
) -> Recording {
    if base.is_telemetry_suppressed() {
        // The exporter's own work: never recorded (as the SDK does).
        return Recording::new(base.clone(), None);
    }
    let start = clock::now();
    let code = site.code.then(|| Code::of(site));
    let candidate = Candidate {
        name: site.name,
        kind: &site.kind,
        code,
        attributes: &[],
        links: &links,
    };
    let decision = decide(parent, own, sampler, candidate);
    if decision.sampled.is_none() {
        let cx = base.with_remote_span_context(decision.context);
        return Recording::started(cx, site, false, metered, start);
    }
    let opening = Opening {
        kind: site.kind.clone(),
        name: Cow::Borrowed(site.name),
        start,
        code,
        scope: (site.scope, site.scope_version),
        // A job's two attributes come first, within the attribute limit.
        job_status: (site.job && own.limits.max_attributes_per_span >= 2).then(|| "unknown".into()),
    };
    let (mut span, held) = decision.record(opening);
    span.attributes.reserve(site.attrs);
    // The attribute code writes into the record, in place.
    let panicked = run_attribute_code(
        record,
        Target::Builder {
            attributes: &mut span.attributes,
            name: &mut span.name,
        },
    );
    limit(&mut span, links, &own.limits);
    let cx = match held {
        None => base.with_span(LiveSpan::new(span, own.limits, own.sink.clone())),
        Some((trace, None)) => base.with_span(LiveSpan::new(span, own.limits, Sink::Held(trace))),
        // A new local root: its trace goes with the context, for its children.
        Some((trace, Some(mark))) => {
            base.with_value(mark)
                .with_span(LiveSpan::new(span, own.limits, Sink::Held(trace)))
        }
    };
    let recording = Recording::started(cx, site, true, metered, start);
    if let Some(payload) = panicked {
        end_with_panic(recording, payload);
    }
    recording
}

/// What span start settles before any attribute code runs: the ids, the
/// parent, the sampler's decision, and for a held span its local trace.
struct Decision {
    /// The new span's context; for a span not recorded, what its children see.
    context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    /// `Some(sampled)` when the span is recorded.
    sampled: Option<bool>,
    /// Attributes a sampler added.
    attributes: Vec<KeyValue>,
    held: Held,
}

/// The span a sampler decides on, as it is before any attribute code runs.
struct Candidate<'a> {
    name: &'a str,
    kind: &'a SpanKind,
    code: Option<Code>,
    attributes: &'a [KeyValue],
    links: &'a [Link],
}

/// What a recorded span starts with, beside its decision.
struct Opening {
    kind: SpanKind,
    name: Cow<'static, str>,
    start: SystemTime,
    code: Option<Code>,
    scope: (&'static str, &'static str),
    job_status: Option<StringValue>,
}

/// The held trace a span joins, and the mark its context must carry.
type Held = Option<(Arc<HeldTrace>, Option<InHeldTrace>)>;

impl Decision {
    /// The record of a span the decision keeps, and the held trace it joins.
    /// Inlined: part of every sampled span's start.
    #[inline(always)]
    fn record(self, opening: Opening) -> (Box<Record>, Held) {
        // Allocated first, then filled, so that the compiler can write the
        // record in place rather than make it on the stack and copy it (no
        // guarantee; measured: no copy of its 528 bytes).
        let slot = Box::<Record>::new_uninit();
        let mut span = Box::write(
            slot,
            Record {
                context: self.context,
                parent_span_id: self.parent_span_id,
                parent_is_remote: self.parent_is_remote,
                kind: opening.kind,
                name: opening.name,
                start: opening.start,
                end: opening.start,
                attributes: Attributes::new(),
                dropped_attributes: 0,
                code: opening.code,
                events: Vec::new(),
                dropped_events: 0,
                links: Vec::new(),
                dropped_links: 0,
                status: Status::Unset,
                scope: opening.scope,
                job_status: opening.job_status,
            },
        );
        if self.attributes.is_empty() {
            drop_list(self.attributes);
        } else {
            span.attributes
                .extend(self.attributes.into_iter().map(Attribute::from));
        }
        (span, self.held)
    }
}

/// Applies the span limits to what a record was given at start.
#[inline(always)]
fn limit(span: &mut Record, links: Vec<Link>, limits: &SpanLimits) {
    span.limit_attributes(limits);
    // Most spans have none: no iterator to make and drop.
    if !links.is_empty() {
        for link in links {
            span.add_link(link, limits);
        }
    }
}

/// Inlined: part of every span's start.
#[inline(always)]
fn decide(parent: &Context, own: &Own, sampler: SamplerKind, candidate: Candidate<'_>) -> Decision {
    let Candidate {
        name,
        kind,
        code,
        attributes,
        links,
    } = candidate;
    let parent_span = parent.span();
    let parent_context = Some(parent_span.span_context()).filter(|sc| sc.is_valid());
    let (trace_id, parent_span_id, parent_flags, parent_is_remote) = match parent_context {
        Some(sc) => (
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags(),
            sc.is_remote(),
        ),
        None => (
            ids::trace_id(),
            SpanId::INVALID,
            TraceFlags::default(),
            false,
        ),
    };
    let span_id = ids::span_id();
    let holding = own
        .holding
        .as_ref()
        .filter(|_| sampler == SamplerKind::KeepErrors);
    let mut added = Vec::new();
    let (recorded, sampled, state) = match (holding, sampler.predict(parent)) {
        // Everything recorded; what is not chosen up front is held.
        (Some(holding), _) => {
            let chosen = match parent_context {
                Some(sc) => sc.is_sampled(),
                None => holding.chosen(trace_id),
            };
            (true, chosen, inherited_state(parent_context))
        }
        (None, Some(kept)) => (kept, kept, inherited_state(parent_context)),
        (None, None) => {
            let result = match code {
                // A sampler sees the attributes given at start, the source
                // location first (the record keeps it apart).
                Some(code) => {
                    let offered: Vec<KeyValue> = code
                        .attributes()
                        .chain(attributes.iter().cloned())
                        .collect();
                    own.sampler
                        .should_sample(Some(parent), trace_id, name, kind, &offered, links)
                }
                None => {
                    own.sampler
                        .should_sample(Some(parent), trace_id, name, kind, attributes, links)
                }
            };
            added = result.attributes;
            let (recorded, sampled) = match result.decision {
                SamplingDecision::RecordAndSample => (true, true),
                SamplingDecision::RecordOnly => (true, false),
                SamplingDecision::Drop => (false, false),
            };
            (recorded, sampled, result.trace_state)
        }
    };
    if !recorded {
        // The SDK clears every flag of a span its sampler drops, but the random
        // trace-id flag (W3C Level 2) describes the trace id and goes on.
        let flags = TraceFlags::new(parent_flags.to_u8() & RANDOM);
        return Decision {
            context: SpanContext::new(trace_id, span_id, flags, false, state),
            parent_span_id,
            parent_is_remote,
            sampled: None,
            attributes: added,
            held: None,
        };
    }
    let held = match holding {
        Some(holding) if !sampled => Some(held_trace(parent, trace_id, span_id, holding)),
        _ => None,
    };
    let flags = parent_flags.with_sampled(sampled);
    Decision {
        context: SpanContext::new(trace_id, span_id, flags, false, state),
        parent_span_id,
        parent_is_remote,
        sampled: Some(sampled),
        attributes: added,
        held,
    }
}

/// A span of the `tracing` bridge (a `tracing` span, as tracing-opentelemetry
/// describes it in a `SpanBuilder`), recorded like an annotated function's: its
/// live handle, or, when not recorded, the context its children see. A held
/// `tracing` span joins its parent's held trace; one that starts a local trace
/// is held alone (tracing-opentelemetry makes its context, which cannot carry
/// the trace for its children).
#[cfg(feature = "tracing")]
pub(crate) fn start_bridged(
    builder: opentelemetry::trace::SpanBuilder,
    parent: &Context,
    own: &Own,
    sampler: SamplerKind,
) -> Result<LiveSpan, SpanContext> {
    if parent.is_telemetry_suppressed() {
        return Err(SpanContext::empty_context());
    }
    let kind = builder.span_kind.unwrap_or(SpanKind::Internal);
    let attributes = builder.attributes.unwrap_or_default();
    let links = builder.links.unwrap_or_default();
    let candidate = Candidate {
        name: &builder.name,
        kind: &kind,
        code: None,
        attributes: &attributes,
        links: &links,
    };
    let decision = decide(parent, own, sampler, candidate);
    if decision.sampled.is_none() {
        return Err(decision.context);
    }
    let opening = Opening {
        kind,
        name: builder.name,
        start: builder.start_time.unwrap_or_else(clock::now),
        code: None,
        scope: ("spanwright", env!("CARGO_PKG_VERSION")),
        job_status: None,
    };
    let (mut span, held) = decision.record(opening);
    // Given at start, before what the sampler added; converted in place, in
    // the builder's allocation (the same size of element both ways).
    let given: Vec<Attribute> = attributes.into_iter().map(Attribute::from).collect();
    let added = std::mem::replace(&mut span.attributes, Attributes::from_vec(given));
    span.attributes.extend(added);
    limit(&mut span, links, &own.limits);
    for event in builder.events.unwrap_or_default() {
        span.add_event(event, &own.limits);
    }
    let sink = match held {
        Some((trace, _)) => {
            // Its context is tracing-opentelemetry's: its children find the
            // trace by this span's id.
            if let Some(holding) = &own.holding {
                holding.remember_bridged(span.context.span_id(), &trace);
            }
            Sink::Held(trace)
        }
        None => own.sink.clone(),
    };
    Ok(LiveSpan::new(span, own.limits, sink))
}

/// The held local trace a span not chosen up front joins: its parent's, when
/// the parent is a local span of the same trace being held (found through the
/// mark in its context, or, for a `tracing` span, by its id); else a new one,
/// rooted at this span. With the mark the new span's context must carry for
/// its children, unless the parent's context carries it already.
fn held_trace(
    parent: &Context,
    trace_id: TraceId,
    span_id: SpanId,
    holding: &Arc<Holding>,
) -> (Arc<HeldTrace>, Option<InHeldTrace>) {
    let parent_span = parent.span();
    let parent_context = parent_span.span_context();
    let local_parent = parent_context.is_valid() && !parent_context.is_remote();
    if local_parent {
        if let Some(InHeldTrace(trace)) = parent.get::<InHeldTrace>()
            && trace.trace == trace_id
            && trace.held_by(holding)
        {
            return (Arc::clone(trace), None);
        }
        if let Some(trace) = holding.bridged(parent_context.span_id()) {
            return (Arc::clone(&trace), Some(InHeldTrace(trace)));
        }
    }
    let trace = holding.open(trace_id, span_id);
    (Arc::clone(&trace), Some(InHeldTrace(trace)))
}

/// The parent's trace state goes on, as the SDK's own samplers pass it.
fn inherited_state(parent: Option<&SpanContext>) -> TraceState {
    parent
        .map(|sc| sc.trace_state().clone())
        .unwrap_or_default()
}
