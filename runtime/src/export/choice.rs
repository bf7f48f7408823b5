//! Which exporter `OTEL_TRACES_EXPORTER` (or the builder) picks.

use crate::export::batch::Accounted;
use crate::export::stats::Counters;
use crate::setup::batch::BatchSettings;
use crate::setup::env::env_var;
use crate::setup::error::InitError;
use std::sync::Arc;

/// Makes the processor of a user's exporter, given the batch settings, the value
/// length limit and the counters.
pub(crate) type MakeProcessor =
    Box<dyn FnOnce(&BatchSettings, Option<usize>, Arc<Counters>) -> Accounted>;

pub(crate) enum ExporterChoice {
    Console,
    None,
    /// A user's exporter.
    Custom(MakeProcessor),
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

    /// `OTEL_TRACES_EXPORTER` (the first of a list). Unset means `otlp` when this
    /// build has an OTLP exporter, as the OpenTelemetry specification says, and
    /// `console` when it does not.
    pub(crate) fn from_env() -> Result<(Self, String), InitError> {
        let Some(value) = env_var("OTEL_TRACES_EXPORTER") else {
            return Ok((Self::default_choice(), "default".into()));
        };
        let choice = match value.split(',').next().unwrap_or("").trim() {
            "console" => ExporterChoice::Console,
            "none" => ExporterChoice::None,
            "otlp" => Self::otlp_from_env()?,
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_TRACES_EXPORTER",
                    value,
                    accepted: "otlp, console or none".into(),
                });
            }
        };
        Ok((choice, "OTEL_TRACES_EXPORTER".into()))
    }

    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    fn default_choice() -> Self {
        ExporterChoice::Otlp {
            protocol: None,
            endpoint: None,
        }
    }

    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    fn default_choice() -> Self {
        ExporterChoice::Console
    }

    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    fn otlp_from_env() -> Result<Self, InitError> {
        Ok(ExporterChoice::Otlp {
            protocol: None,
            endpoint: None,
        })
    }

    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    fn otlp_from_env() -> Result<Self, InitError> {
        Err(InitError::Unsupported {
            what: "OTEL_TRACES_EXPORTER=otlp".into(),
            feature: "otlp",
        })
    }
}
