//! Span limits from the environment. The SDK reads only the span count limits; the
//! generic and per-event/per-link attribute counts and the attribute value length
//! are read here (the length limit is applied by `pipeline::truncate`).

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use opentelemetry_sdk::trace::SpanLimits;

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
