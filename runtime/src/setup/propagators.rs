//! The propagators from `OTEL_PROPAGATORS`.

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub(crate) type Propagator = Box<dyn TextMapPropagator + Send + Sync>;

/// The propagators `OTEL_PROPAGATORS` names (`None`: the default), with the value
/// and where it came from.
pub(crate) fn from_env() -> Result<(Option<Propagator>, String, &'static str), InitError> {
    let Some(value) = env_var("OTEL_PROPAGATORS") else {
        return Ok((None, "tracecontext,baggage".into(), "default"));
    };
    let mut propagators: Vec<Propagator> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "tracecontext" => propagators.push(Box::new(TraceContextPropagator::new())),
            "baggage" => propagators.push(Box::new(BaggagePropagator::new())),
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
    let propagator: Propagator = Box::new(TextMapCompositePropagator::new(propagators));
    Ok((Some(propagator), value, "OTEL_PROPAGATORS"))
}
