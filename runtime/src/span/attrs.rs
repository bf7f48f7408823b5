//! The span being started as the generated attribute code sees it: attribute
//! expressions and name templates write through [`SpanAttrs`].

#[cfg(feature = "sdk")]
use opentelemetry::trace::Span as _;
use opentelemetry::{Key, KeyValue, Value};
#[cfg(feature = "sdk")]
use opentelemetry_sdk::trace::Span as SdkSpan;
use std::borrow::Cow;
#[cfg(feature = "sdk")]
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The span being started, as the generated attribute code sees it: its
/// attribute list and name before it starts (the sampler kept it), or a span of
/// the SDK's already started (a provider's sampler that cannot be predicted).
pub struct SpanAttrs<'a>(pub(super) Target<'a>);

/// A span's attribute list: a few held in place, so that most spans need no
/// list of their own (one allocation less at start, one free less at export).
#[cfg(feature = "sdk")]
pub(crate) type Attributes = smallvec::SmallVec<[KeyValue; INLINE_ATTRIBUTES]>;
/// Without the SDK no span is recorded: nothing is ever pushed.
#[cfg(not(feature = "sdk"))]
pub(crate) type Attributes = Vec<KeyValue>;

/// Attributes held in a record without a list of their own: the user's
/// attributes of a typical annotated function (its source location is not
/// among them; a record keeps the site instead).
#[cfg(feature = "sdk")]
pub(crate) const INLINE_ATTRIBUTES: usize = 4;

pub(super) enum Target<'a> {
    Builder {
        attributes: &'a mut Attributes,
        name: &'a mut Cow<'static, str>,
    },
    #[cfg(feature = "sdk")]
    Span(&'a mut SdkSpan),
}

impl SpanAttrs<'_> {
    /// Sets an attribute; `None` records nothing.
    #[inline]
    pub fn attr(&mut self, key: Key, value: Option<Value>) {
        if let Some(value) = value {
            match &mut self.0 {
                Target::Builder { attributes, .. } => attributes.push(KeyValue::new(key, value)),
                #[cfg(feature = "sdk")]
                Target::Span(span) => span.set_attribute(KeyValue::new(key, value)),
            }
        }
    }

    /// Replaces the span name (a filled-in name template).
    pub fn name(&mut self, name: String) {
        match &mut self.0 {
            Target::Builder { name: slot, .. } => **slot = Cow::Owned(name),
            #[cfg(feature = "sdk")]
            Target::Span(span) => span.update_name(name),
        }
    }
}

/// Runs the user's attribute code (attribute expressions, a name template)
/// into `target`; a panic there is returned, not thrown.
#[cfg(feature = "sdk")]
pub(super) fn run_attribute_code(
    record: &mut dyn FnMut(&mut SpanAttrs<'_>),
    target: Target<'_>,
) -> Option<Box<dyn std::any::Any + Send>> {
    let mut target = SpanAttrs(target);
    catch_unwind(AssertUnwindSafe(|| record(&mut target))).err()
}
