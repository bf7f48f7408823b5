//! Span start through the SDK's span objects: only for a provider the
//! application handed over (`TelemetryBuilder::tracer_provider`), whose
//! processors, exporters and sampler then record annotated functions.

use crate::pipeline::attribute::{Attribute, Attributes};
use crate::span::attrs::{Target, run_attribute_code};
use crate::span::recording::{Recording, end_with_panic};
use crate::span::sampling::{RANDOM, SamplerKind, parent_random};
use crate::span::site::Site;
use opentelemetry::Context;
use opentelemetry::trace::{
    Link, Span as _, SpanBuilder, SpanContext, TraceContextExt, TraceFlags, Tracer as _,
};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};
use std::borrow::Cow;

#[allow(clippy::too_many_arguments)] // the one call in span start
pub(super) fn start(
    site: &'static Site,
    base: &Context,
    parent: &Context,
    links: Vec<Link>,
    tracer: &SdkTracer,
    sampler: SamplerKind,
    mut attributes: Attributes,
    record: &mut dyn FnMut(&mut crate::span::attrs::SpanAttrs<'_>),
    metered: bool,
) -> Recording {
    let start = if metered {
        crate::pipeline::clock::now()
    } else {
        std::time::UNIX_EPOCH
    };
    let mut name = Cow::Borrowed(site.name);
    let predicted = sampler.predict(parent);
    let mut panicked = None;
    if predicted == Some(true) {
        // Known to be recorded: attributes go in at build time, the cheapest way.
        panicked = run_attribute_code(
            record,
            Target::Builder {
                attributes: &mut attributes,
                name: &mut name,
            },
        );
    }
    // Fields set in place: `with_attributes` would collect the vector again.
    let mut builder = SpanBuilder::from_name(name);
    builder.span_kind = Some(site.kind.clone());
    if metered {
        // The span's duration and the metric's are one.
        builder.start_time = Some(start);
    }
    // Through a `Vec`: the same size of element both ways, so the list is
    // converted in place, in the allocation it has.
    builder.attributes = Some(
        attributes
            .into_vec()
            .into_iter()
            .map(Attribute::into_key_value)
            .collect(),
    );
    if !links.is_empty() {
        builder.links = Some(links);
    }
    let mut span = tracer.build_with_context(builder, parent);
    let recording = span.is_recording();
    if let (None, true) = (predicted, recording) {
        panicked = run_attribute_code(record, Target::Span(&mut span));
    }
    let cx = if !recording && parent_random(parent) {
        // The SDK clears every flag of a span its sampler drops; the random
        // trace-id flag (W3C Level 2) describes the trace id and goes on.
        with_random_flag(base, &span)
    } else {
        // The span (a few hundred bytes) moves once, into its context, here.
        base.with_span(span)
    };
    let recording = Recording::started(cx, site, recording, metered, start);
    if let Some(payload) = panicked {
        end_with_panic(recording, payload);
    }
    recording
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
