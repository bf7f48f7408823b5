//! Knowing the sampler's decision before the span is built, for the samplers
//! spanwright configures itself: the attributes then go in at build time, as the
//! fastest hand-written code passes them, and are still never evaluated for a
//! span the sampler drops. For any other sampler the decision is not predicted
//! and the attributes are set after the SDK has sampled.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::Sampler;

/// The W3C Level 2 random trace-id flag.
pub(crate) const RANDOM: u8 = 0x02;

/// Whether the parent's trace id is marked random.
#[inline]
pub(crate) fn parent_random(parent: &Context) -> bool {
    parent.has_active_span() && parent.span().span_context().trace_flags().to_u8() & RANDOM != 0
}

/// What is known of a provider's sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SamplerKind {
    AlwaysOn,
    AlwaysOff,
    /// `ParentBased` over `AlwaysOn` (`true`) or `AlwaysOff` (`false`) for roots.
    ParentBased {
        root_on: bool,
    },
    /// Ratio-based or custom: the sampler is asked.
    Other,
    /// `parentbased_traceidratio_keep_errors`: every span recorded, the traces
    /// not chosen up front held until their local root ends.
    KeepErrors,
}

impl SamplerKind {
    /// What can be told from a sampler value (the inner sampler of a `ParentBased`
    /// given in code is opaque).
    pub(crate) fn of(sampler: &Sampler) -> Self {
        match sampler {
            Sampler::AlwaysOn => SamplerKind::AlwaysOn,
            Sampler::AlwaysOff => SamplerKind::AlwaysOff,
            _ => SamplerKind::Other,
        }
    }

    /// Whether the SDK's sampler will record a span with this parent, when that is
    /// certain. Mirrors the SDK's `ParentBased`: an active parent span decides by
    /// its sampled flag, no parent defers to the root sampler.
    #[inline]
    pub(crate) fn predict(self, parent: &Context) -> Option<bool> {
        match self {
            SamplerKind::AlwaysOn => Some(true),
            SamplerKind::AlwaysOff => Some(false),
            SamplerKind::ParentBased { root_on } => Some(if parent.has_active_span() {
                parent.span().span_context().is_sampled()
            } else {
                root_on
            }),
            SamplerKind::Other | SamplerKind::KeepErrors => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SamplerKind;
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, ShouldSample};

    fn parent(sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let sc = SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            flags,
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(sc)
    }

    /// The prediction agrees with the SDK's own decision in every case.
    #[test]
    fn predictions_match_the_sdk() {
        let cases = [
            (SamplerKind::AlwaysOn, Sampler::AlwaysOn),
            (SamplerKind::AlwaysOff, Sampler::AlwaysOff),
            (
                SamplerKind::ParentBased { root_on: true },
                Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            ),
            (
                SamplerKind::ParentBased { root_on: false },
                Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            ),
        ];
        let _ = SdkTracerProvider::default();
        for (kind, sampler) in cases {
            for cx in [Context::new(), parent(true), parent(false)] {
                let sdk = sampler.should_sample(
                    Some(&cx),
                    TraceId::from(7),
                    "n",
                    &SpanKind::Internal,
                    &[],
                    &[],
                );
                let records = !matches!(
                    sdk.decision,
                    opentelemetry_sdk::trace::SamplingDecision::Drop
                );
                assert_eq!(
                    kind.predict(&cx),
                    Some(records),
                    "{kind:?} with parent {:?}",
                    cx.span().span_context()
                );
            }
        }
        assert_eq!(
            SamplerKind::of(&Sampler::TraceIdRatioBased(0.5)).predict(&Context::new()),
            None
        );
    }
}
