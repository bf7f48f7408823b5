//! Reading `OTEL_*` variables: empty counts as unset, booleans as the
//! OpenTelemetry environment specification spells them.

use crate::setup::error::InitError;

/// An environment variable's value; empty counts as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn env_bool(variable: &'static str) -> Result<Option<bool>, InitError> {
    match env_var(variable) {
        None => Ok(None),
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(InitError::InvalidVariable {
                variable,
                value,
                accepted: "true or false".into(),
            }),
        },
    }
}

/// `OTEL_SDK_DISABLED=true` or `OTEL_ENABLED=false`.
pub(crate) fn disabled_by_env() -> Result<bool, InitError> {
    let sdk_disabled = env_bool("OTEL_SDK_DISABLED")?;
    let enabled = env_bool("OTEL_ENABLED")?;
    Ok(sdk_disabled == Some(true) || enabled == Some(false))
}
