//! The attribute value length limit, applied to spans on their way to the
//! exporter (the SDK has no such limit).

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::future::Future;
use std::time::Duration;

/// Truncates string attribute values (of spans, events and links) to a length in
/// characters before handing spans to the inner exporter.
#[derive(Debug)]
pub(crate) struct Truncating<E> {
    pub(crate) inner: E,
    /// `None`: no limit, spans pass untouched.
    pub(crate) limit: Option<usize>,
}

impl<E: SpanExporter> SpanExporter for Truncating<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Some(limit) = self.limit {
            for span in &mut batch {
                truncate_all(&mut span.attributes, limit);
                for event in span.events.events.iter_mut() {
                    truncate_all(&mut event.attributes, limit);
                }
                for link in span.links.links.iter_mut() {
                    truncate_all(&mut link.attributes, limit);
                }
            }
        }
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

fn truncate_all(attributes: &mut [KeyValue], limit: usize) {
    for kv in attributes {
        match &mut kv.value {
            Value::String(s) => truncate(s, limit),
            Value::Array(Array::String(items)) => items.iter_mut().for_each(|s| truncate(s, limit)),
            _ => {}
        }
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
}
