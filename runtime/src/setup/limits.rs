//! Span limits from the environment. The SDK reads only the span count limits; the
//! generic and per-event/per-link attribute counts and the attribute value length
//! are read here, and the length limit is applied by truncating string values on
//! their way to the exporter.

use crate::config::{InitError, env_var};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanLimits};
use std::future::Future;
use std::time::Duration;

/// The limits in force, and the variable (or default) each came from.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) span: SpanLimits,
    pub(crate) value_length: Option<usize>,
    pub(crate) sources: Vec<(&'static str, String, &'static str)>,
}

/// Reads the first of `variables` that is set, as a whole number.
fn read(variables: &[&'static str]) -> Result<Option<(u32, &'static str)>, InitError> {
    for &variable in variables {
        if let Some(value) = env_var(variable) {
            return match value.parse::<u32>() {
                Ok(n) => Ok(Some((n, variable))),
                Err(_) => Err(InitError::InvalidVariable {
                    variable,
                    value,
                    accepted: "a whole number, 0 or more".into(),
                }),
            };
        }
    }
    Ok(None)
}

pub(crate) fn from_env() -> Result<Limits, InitError> {
    let mut span = SpanLimits::default();
    let mut sources = Vec::new();
    let mut apply =
        |name: &'static str, variables: &[&'static str], slot: &mut u32| -> Result<(), InitError> {
            match read(variables)? {
                Some((n, variable)) => {
                    *slot = n;
                    sources.push((name, n.to_string(), variable));
                }
                None => sources.push((name, slot.to_string(), "default")),
            }
            Ok(())
        };
    apply(
        "attributes per span",
        &[
            "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
        ],
        &mut span.max_attributes_per_span,
    )?;
    apply(
        "events per span",
        &["OTEL_SPAN_EVENT_COUNT_LIMIT"],
        &mut span.max_events_per_span,
    )?;
    apply(
        "links per span",
        &["OTEL_SPAN_LINK_COUNT_LIMIT"],
        &mut span.max_links_per_span,
    )?;
    apply(
        "attributes per event",
        &[
            "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
        ],
        &mut span.max_attributes_per_event,
    )?;
    apply(
        "attributes per link",
        &[
            "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
        ],
        &mut span.max_attributes_per_link,
    )?;
    let value_length = read(&[
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ])?;
    match value_length {
        Some((n, variable)) => sources.push(("attribute value length", n.to_string(), variable)),
        None => sources.push(("attribute value length", "unlimited".into(), "default")),
    }
    Ok(Limits {
        span,
        value_length: value_length.map(|(n, _)| n as usize),
        sources,
    })
}

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
