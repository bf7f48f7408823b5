//! Which exporter `OTEL_TRACES_EXPORTER` (or the builder) picks.

use crate::pipeline::destination::Destination;
use crate::setup::env::env_var;
use crate::setup::error::InitError;
use opentelemetry_sdk::Resource;

/// Makes the export queue's destination for a user's exporter, given the
/// resource.
pub(crate) type MakeDestination = Box<dyn FnOnce(&Resource) -> Box<dyn Destination>>;

pub(crate) enum ExporterChoice {
    Console,
    None,
    /// A user's exporter.
    Custom(MakeDestination),
    /// OTLP; `None` fields are resolved from the environment.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    Otlp {
        protocol: Option<crate::OtlpProtocol>,
        endpoint: Option<String>,
    },
}

impl ExporterChoice {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ExporterChoice::Console => "console",
            ExporterChoice::None => "none",
            ExporterChoice::Custom(_) => "custom",
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            ExporterChoice::Otlp { .. } => "otlp",
        }
    }

    /// `OTEL_TRACES_EXPORTER`, a comma-separated list (case-insensitive). Unset
    /// means `otlp` when this build has an OTLP exporter, as the OpenTelemetry
    /// specification says, and `console` when it does not, unless an OTLP
    /// endpoint is configured: a build without OTLP then refuses rather than print
    /// spans nobody asked for.
    pub(crate) fn from_env() -> Result<(Vec<Self>, String), InitError> {
        let endpoint = env_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| env_var("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let value = env_var("OTEL_TRACES_EXPORTER");
        let source = if value.is_some() {
            "OTEL_TRACES_EXPORTER"
        } else {
            "default"
        };
        Ok((choose(value, endpoint.is_some())?, source.into()))
    }
}

const OTLP_AVAILABLE: bool = cfg!(any(feature = "otlp-grpc", feature = "otlp-http"));

fn otlp() -> Result<ExporterChoice, InitError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    return Ok(ExporterChoice::Otlp {
        protocol: None,
        endpoint: None,
    });
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    return Err(InitError::Unsupported {
        what: "OTLP export (OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint set)".into(),
        feature: "otlp",
    });
}

/// The exporters for `OTEL_TRACES_EXPORTER` = `value`, given whether an OTLP
/// endpoint is configured. `none` anywhere in the list means no exporter.
fn choose(
    value: Option<String>,
    endpoint_configured: bool,
) -> Result<Vec<ExporterChoice>, InitError> {
    let Some(value) = value else {
        return Ok(vec![if OTLP_AVAILABLE || endpoint_configured {
            otlp()?
        } else {
            ExporterChoice::Console
        }]);
    };
    let mut chosen: Vec<ExporterChoice> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        if name.is_empty() || names.contains(&name) {
            continue;
        }
        let choice = match name.as_str() {
            "console" => ExporterChoice::Console,
            "none" => return Ok(vec![ExporterChoice::None]),
            "otlp" => otlp()?,
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_TRACES_EXPORTER",
                    value,
                    accepted: "a comma-separated list of otlp, console, none".into(),
                });
            }
        };
        names.push(name);
        chosen.push(choice);
    }
    if chosen.is_empty() {
        chosen.push(ExporterChoice::None);
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(value: Option<&str>, endpoint: bool) -> Result<Vec<&'static str>, InitError> {
        choose(value.map(str::to_owned), endpoint)
            .map(|c| c.iter().map(ExporterChoice::name).collect())
    }

    #[test]
    fn lists_and_case() {
        assert_eq!(names(Some("Console"), false).unwrap(), ["console"]);
        assert_eq!(names(Some("console, NONE"), false).unwrap(), ["none"]);
        assert!(names(Some("zipkin"), false).is_err());
        if OTLP_AVAILABLE {
            assert_eq!(
                names(Some("OTLP,console"), false).unwrap(),
                ["otlp", "console"]
            );
            assert_eq!(names(None, false).unwrap(), ["otlp"]);
        }
    }

    #[test]
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    fn a_build_without_otlp_refuses_it_with_the_feature_named() {
        let expected = "OTLP export (OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint set) needs the `otlp` feature of spanwright";
        for (value, endpoint) in [
            (Some("otlp"), false),
            (Some("console,otlp"), false),
            (None, true),
        ] {
            let error = names(value, endpoint).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
        // Without an endpoint, the default of a build without OTLP is the console.
        assert_eq!(names(None, false).unwrap(), ["console"]);
    }
}
