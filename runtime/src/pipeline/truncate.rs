//! The attribute value length limit, applied to each span as it ends, before it
//! is queued for export (the SDK has no such limit).

use crate::pipeline::attribute::AttributeValue;
use crate::pipeline::record::Record;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// Truncates the string attribute values of a span, its events and links to
/// `limit` characters.
pub(crate) fn truncate_span(span: &mut SpanData, limit: usize) {
    truncate_all(&mut span.attributes, limit);
    for event in span.events.events.iter_mut() {
        truncate_all(&mut event.attributes, limit);
    }
    for link in span.links.links.iter_mut() {
        truncate_all(&mut link.attributes, limit);
    }
}

/// The same for one of spanwright's records (and its job status).
pub(crate) fn truncate_record(record: &mut Record, limit: usize) {
    // Bytes bound characters: only a location that may be too long is copied
    // into the list to be cut there.
    if record.code.is_some_and(|code| code.longest_value() > limit) {
        record.code_into_attributes();
    }
    for attribute in &mut record.attributes {
        match &mut attribute.value {
            AttributeValue::Value(value) => truncate_value(value, limit),
            AttributeValue::Short(short) => short.truncate(limit),
        }
    }
    for event in &mut record.events {
        truncate_all(&mut event.attributes, limit);
    }
    for link in &mut record.links {
        truncate_all(&mut link.attributes, limit);
    }
    if let Some(status) = &mut record.job_status {
        truncate(status, limit);
    }
}

fn truncate_all(attributes: &mut [KeyValue], limit: usize) {
    for kv in attributes {
        truncate_value(&mut kv.value, limit);
    }
}

fn truncate_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(s) => truncate(s, limit),
        Value::Array(Array::String(items)) => items.iter_mut().for_each(|s| truncate(s, limit)),
        _ => {}
    }
}

fn truncate(value: &mut StringValue, limit: usize) {
    let text = value.as_str();
    if let Some((cut, _)) = text.char_indices().nth(limit) {
        *value = StringValue::from(text[..cut].to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_strings_by_characters() {
        let mut attributes = vec![
            KeyValue::new("s", "héllo wörld"),
            KeyValue::new("n", 123_456_789_i64),
            KeyValue::new(
                "a",
                Value::Array(Array::String(vec!["abcdef".into(), "ab".into()])),
            ),
        ];
        truncate_all(&mut attributes, 4);
        assert_eq!(attributes[0].value, Value::from("héll"));
        assert_eq!(attributes[1].value, Value::I64(123_456_789));
        assert_eq!(
            attributes[2].value,
            Value::Array(Array::String(vec!["abcd".into(), "ab".into()]))
        );
    }

    /// A record's strings held in place are cut like the others, and its
    /// source location, kept as the site, is put in the list to be cut when
    /// the limit is shorter than its names (and left as the site when not).
    #[test]
    fn a_records_short_strings_and_location_are_cut() {
        use crate::pipeline::attribute::Attribute;
        use crate::pipeline::record::Code;
        use crate::pipeline::record::tests::{SITE, record};
        let mut r = record("r");
        r.code = Some(Code::of(&SITE));
        r.attributes.push(Attribute::text(
            opentelemetry::Key::from_static_str("city"),
            "Zürich",
        ));
        truncate_record(&mut r, 64);
        assert!(
            r.code.is_some(),
            "names shorter than the limit: left as the site"
        );
        truncate_record(&mut r, 4);
        assert!(r.code.is_none());
        let data = r.into_span_data();
        let value = |key: &str| {
            data.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(value("code.function.name"), Some(Value::from("app:")));
        assert_eq!(value("code.file.path"), Some(Value::from("src/")));
        assert_eq!(value("code.line.number"), Some(Value::I64(7)));
        assert_eq!(value("city"), Some(Value::from("Züri")));
        assert_eq!(data.attributes[0].key.as_str(), "code.function.name");
    }
}
