//! The sampler from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use crate::pipeline::held::HoldLimits;
use crate::setup::env::env_var;
use crate::setup::error::InitError;
use crate::span::sampling::SamplerKind;
use opentelemetry_sdk::trace::Sampler;
use std::time::Duration;

/// The sampler, what is known of it, where it came from, and for
/// `parentbased_traceidratio_keep_errors` its ratio.
pub(crate) type FromEnv = (Sampler, SamplerKind, String, Option<f64>);

pub(crate) fn from_env() -> Result<FromEnv, InitError> {
    let Some(name) = env_var("OTEL_TRACES_SAMPLER") else {
        let kind = SamplerKind::ParentBased { root_on: true };
        return Ok((
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            kind,
            "default".into(),
            None,
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
    let lowercase = name.to_ascii_lowercase();
    if lowercase == "parentbased_traceidratio_keep_errors" {
        let ratio = ratio()?;
        return Ok((
            parent_based(Sampler::TraceIdRatioBased(ratio)),
            SamplerKind::KeepErrors,
            "OTEL_TRACES_SAMPLER".into(),
            Some(ratio),
        ));
    }
    // Enumerated values are case-insensitive (the OpenTelemetry environment spec).
    let (sampler, kind) = match lowercase.as_str() {
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
                accepted: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio or parentbased_traceidratio_keep_errors".into(),
            });
        }
    };
    Ok((sampler, kind, "OTEL_TRACES_SAMPLER".into(), None))
}

/// Each setting's name, value and source, for `Telemetry::describe`.
pub(crate) type Sources = Vec<(&'static str, String, &'static str)>;

/// The bounds of sampling that keeps errors, from `SPANWRIGHT_KEEP_ERRORS_*`,
/// with where each came from.
pub(crate) fn hold_limits() -> Result<(HoldLimits, Sources), InitError> {
    let read = |variable: &'static str, default: u64| -> Result<(u64, &'static str), InitError> {
        match env_var(variable) {
            None => Ok((default, "default")),
            Some(value) => match value.parse::<u64>() {
                Ok(n) if n >= 1 => Ok((n, variable)),
                _ => Err(InitError::InvalidVariable {
                    variable,
                    value,
                    accepted: "a whole number, 1 or more".into(),
                }),
            },
        }
    };
    let (per_trace, per_trace_source) = read(
        "SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE",
        DEFAULT_HELD_PER_TRACE,
    )?;
    let (total, total_source) = read("SPANWRIGHT_KEEP_ERRORS_MAX_SPANS", DEFAULT_HELD_TOTAL)?;
    let (wait, wait_source) = read("SPANWRIGHT_KEEP_ERRORS_MAX_WAIT_MS", DEFAULT_HELD_WAIT_MS)?;
    let limits = HoldLimits {
        per_trace: usize::try_from(per_trace).unwrap_or(usize::MAX),
        total: usize::try_from(total).unwrap_or(usize::MAX),
        max_wait: Duration::from_millis(wait),
    };
    let sources = vec![
        (
            "keep errors: spans held per trace",
            per_trace.to_string(),
            per_trace_source,
        ),
        (
            "keep errors: spans held in total",
            total.to_string(),
            total_source,
        ),
        (
            "keep errors: longest wait",
            format!("{wait} ms"),
            wait_source,
        ),
    ];
    Ok((limits, sources))
}

/// A local trace holds at most this many spans before it decides what it holds.
pub(crate) const DEFAULT_HELD_PER_TRACE: u64 = 1_000;
/// All held traces together (a record is 528 bytes, its first four attributes
/// and short strings inside: some 26 MB, more with longer values).
pub(crate) const DEFAULT_HELD_TOTAL: u64 = 50_000;
/// A root older than this decides what its trace holds (a server's `main`).
pub(crate) const DEFAULT_HELD_WAIT_MS: u64 = 30_000;
