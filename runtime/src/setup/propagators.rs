//! The propagators from `OTEL_PROPAGATORS`.

use crate::context::baggage::W3cBaggage;
use crate::context::propagation::{Propagator, default_propagator};
use crate::context::trace_context::W3cTraceContext;
use crate::setup::env::env_var;
use crate::setup::error::InitError;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use std::sync::Arc;

/// The propagators `OTEL_PROPAGATORS` names (unset: W3C trace context and
/// baggage), with the value and where it came from.
pub(crate) fn from_env() -> Result<(Propagator, String, &'static str), InitError> {
    let Some(value) = env_var("OTEL_PROPAGATORS") else {
        return Ok((
            default_propagator(),
            "tracecontext,baggage".into(),
            "default",
        ));
    };
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        // Enumerated values are case-insensitive (the OpenTelemetry environment spec).
        match name.to_ascii_lowercase().as_str() {
            "tracecontext" => propagators.push(Box::new(W3cTraceContext)),
            "baggage" => propagators.push(Box::new(W3cBaggage)),
            "none" => propagators.clear(),
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_PROPAGATORS",
                    value,
                    accepted: "a comma-separated list of tracecontext, baggage, none".into(),
                });
            }
        }
    }
    let propagator: Propagator = Arc::new(TextMapCompositePropagator::new(propagators));
    Ok((propagator, value, "OTEL_PROPAGATORS"))
}
