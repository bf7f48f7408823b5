//! The sampler from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use crate::span::sampling::SamplerKind;
use opentelemetry_sdk::trace::Sampler;

pub(crate) fn from_env() -> Result<(Sampler, SamplerKind, String), InitError> {
    let Some(name) = env_var("OTEL_TRACES_SAMPLER") else {
        let kind = SamplerKind::ParentBased { root_on: true };
        return Ok((
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            kind,
            "default".into(),
        ));
    };
    let ratio = || -> Result<f64, InitError> {
        match env_var("OTEL_TRACES_SAMPLER_ARG") {
            None => Ok(1.0),
            Some(value) => match value.parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
                _ => Err(InitError::InvalidVariable {
                    variable: "OTEL_TRACES_SAMPLER_ARG",
                    value,
                    accepted: "a ratio from 0.0 to 1.0".into(),
                }),
            },
        }
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    // Enumerated values are case-insensitive (the OpenTelemetry environment spec).
    let (sampler, kind) = match name.to_ascii_lowercase().as_str() {
        "always_on" => (Sampler::AlwaysOn, SamplerKind::AlwaysOn),
        "always_off" => (Sampler::AlwaysOff, SamplerKind::AlwaysOff),
        "traceidratio" => (Sampler::TraceIdRatioBased(ratio()?), SamplerKind::Other),
        "parentbased_always_on" => (
            parent_based(Sampler::AlwaysOn),
            SamplerKind::ParentBased { root_on: true },
        ),
        "parentbased_always_off" => (
            parent_based(Sampler::AlwaysOff),
            SamplerKind::ParentBased { root_on: false },
        ),
        "parentbased_traceidratio" => (
            parent_based(Sampler::TraceIdRatioBased(ratio()?)),
            SamplerKind::Other,
        ),
        _ => {
            return Err(InitError::InvalidVariable {
                variable: "OTEL_TRACES_SAMPLER",
                value: name,
                accepted: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio".into(),
            });
        }
    };
    Ok((sampler, kind, "OTEL_TRACES_SAMPLER".into()))
}
