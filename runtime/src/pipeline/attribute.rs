//! A record's attributes: typed OpenTelemetry values, except that a short string
//! is held in place. Most string attributes are short (a method, a route, an
//! id), and a copy of one in place costs no allocation when the span starts and
//! no free when it is exported.

use opentelemetry::{Key, KeyValue, StringValue, Value};

/// A span's attribute list: a few held in place, so that most spans need no
/// list of their own (one allocation less at start, one free less at export).
pub(crate) type Attributes = smallvec::SmallVec<[Attribute; INLINE_ATTRIBUTES]>;

/// Attributes held in a record without a list of their own: the user's
/// attributes of a typical annotated function (its source location is not
/// among them; a record keeps the site instead).
const INLINE_ATTRIBUTES: usize = 4;

/// One attribute of a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attribute {
    pub(crate) key: Key,
    pub(crate) value: AttributeValue,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttributeValue {
    Value(Value),
    /// A string short enough to be held in place.
    Short(ShortText),
}

/// The longest string held in place, in bytes: what fits beside the tag in
/// the space a `Value` takes anyway.
const SHORT: usize = 22;

/// A string of at most [`SHORT`] bytes, held in place.
#[derive(Clone, Copy)]
pub(crate) struct ShortText {
    len: u8,
    bytes: [u8; SHORT],
}

impl ShortText {
    /// `text`, if it is short enough.
    #[inline]
    pub(crate) fn new(text: &str) -> Option<Self> {
        let len = text.len();
        if len > SHORT {
            return None;
        }
        let mut bytes = [0; SHORT];
        bytes[..len].copy_from_slice(text.as_bytes());
        Some(ShortText {
            len: len as u8,
            bytes,
        })
    }

    /// The text's UTF-8 bytes (what the encoder writes).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Made from a `&str` and cut only at character boundaries.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Cut to `limit` characters.
    pub(crate) fn truncate(&mut self, limit: usize) {
        if let Some((cut, _)) = self.as_str().char_indices().nth(limit) {
            self.len = cut as u8;
        }
    }
}

/// Equal as strings: the bytes past a cut are not part of it.
impl PartialEq for ShortText {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::fmt::Debug for ShortText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl Attribute {
    /// A string attribute: in place when short, else an owned string.
    #[inline]
    pub(crate) fn text(key: Key, text: &str) -> Self {
        let value = match ShortText::new(text) {
            Some(short) => AttributeValue::Short(short),
            None => AttributeValue::Value(Value::String(StringValue::from(text.to_owned()))),
        };
        Attribute { key, value }
    }

    /// As OpenTelemetry has it.
    pub(crate) fn into_key_value(self) -> KeyValue {
        let value = match self.value {
            AttributeValue::Value(value) => value,
            AttributeValue::Short(short) => Value::String(short.as_str().to_owned().into()),
        };
        KeyValue::new(self.key, value)
    }
}

impl From<KeyValue> for Attribute {
    #[inline]
    fn from(kv: KeyValue) -> Self {
        Attribute {
            key: kv.key,
            value: AttributeValue::Value(kv.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_held_in_place_and_come_out_as_strings() {
        assert_eq!(
            std::mem::size_of::<AttributeValue>(),
            std::mem::size_of::<Value>(),
            "a short string takes no more room than a value"
        );
        // So a list of either converts in place (`Vec`'s in-place collect).
        assert_eq!(
            std::alloc::Layout::new::<Attribute>(),
            std::alloc::Layout::new::<KeyValue>()
        );
        let short = Attribute::text(Key::from_static_str("k"), "héllo");
        assert!(matches!(short.value, AttributeValue::Short(_)));
        assert_eq!(short.into_key_value(), KeyValue::new("k", "héllo"));
        let long = "x".repeat(SHORT + 1);
        let long_attribute = Attribute::text(Key::from_static_str("k"), &long);
        assert!(matches!(long_attribute.value, AttributeValue::Value(_)));
        assert_eq!(long_attribute.into_key_value(), KeyValue::new("k", long));
        let exact = "y".repeat(SHORT);
        assert_eq!(
            Attribute::text(Key::from_static_str("k"), &exact).into_key_value(),
            KeyValue::new("k", exact)
        );
    }

    #[test]
    fn truncation_cuts_at_characters() {
        let mut short = ShortText::new("héllo wörld").unwrap();
        short.truncate(4);
        assert_eq!(short.as_str(), "héll");
        short.truncate(10);
        assert_eq!(short.as_str(), "héll");
        assert_eq!(short, ShortText::new("héll").unwrap(), "what is left of it");
    }
}
