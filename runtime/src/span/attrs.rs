//! The span being started as the generated attribute code sees it: attribute
//! expressions and name templates write through [`SpanAttrs`].

#[cfg(feature = "sdk")]
use crate::pipeline::attribute::{Attribute, Attributes};
use crate::span::value::Typed;
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

/// Without the SDK no span is recorded: nothing is ever pushed.
#[cfg(not(feature = "sdk"))]
type Attributes = Vec<KeyValue>;

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
            let attribute = KeyValue::new(key, value);
            // A record's own attribute type; the lean build's list holds `KeyValue`s.
            #[allow(clippy::useless_conversion)]
            match &mut self.0 {
                Target::Builder { attributes, .. } => attributes.push(attribute.into()),
                #[cfg(feature = "sdk")]
                Target::Span(span) => span.set_attribute(attribute),
            }
        }
    }

    /// Sets an attribute from an annotation's `key = expr`.
    #[inline]
    pub fn typed(&mut self, key: Key, value: Typed<'_>) {
        match value {
            Typed::Nothing => {}
            Typed::Value(value) => self.attr(key, Some(value)),
            Typed::Text(text) => self.text(key, text),
        }
    }

    /// A string attribute: copied into the record (in place when short).
    fn text(&mut self, key: Key, text: &str) {
        match &mut self.0 {
            #[cfg(feature = "sdk")]
            Target::Builder { attributes, .. } => attributes.push(Attribute::text(key, text)),
            #[cfg(not(feature = "sdk"))]
            Target::Builder { attributes, .. } => {
                attributes.push(KeyValue::new(key, text.to_owned()))
            }
            #[cfg(feature = "sdk")]
            Target::Span(span) => span.set_attribute(KeyValue::new(key, text.to_owned())),
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
