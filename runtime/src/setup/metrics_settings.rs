//! Which metrics exporters `OTEL_METRICS_EXPORTER` picks, and
//! `OTEL_METRIC_EXPORT_INTERVAL`.
//!
//! Unset, the exporter follows where spans go: from the environment (or by
//! default) it is `otlp` when the build has OTLP (the specification's default),
//! else `none`; when the builder chose the span exporter in code, metrics go to
//! the same OTLP collector if that was OTLP, and nowhere otherwise (a test's
//! capturing exporter, `no_export()`, a provider handed over).

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use std::time::Duration;

/// One metrics exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetricsChoice {
    Console,
    /// OTLP; `None` fields are resolved from the environment (the
    /// `OTEL_EXPORTER_OTLP_METRICS_*` forms, then the generic ones).
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    Otlp {
        protocol: Option<crate::OtlpProtocol>,
        endpoint: Option<String>,
    },
}

/// What the span exporter chosen in code says for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpansChosenInCode {
    /// OTLP to this collector (fields as set in code).
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    Otlp {
        protocol: Option<crate::OtlpProtocol>,
        endpoint: Option<String>,
    },
    /// Anything else.
    Other,
}

/// The metrics settings in force.
#[derive(Debug)]
pub(crate) struct MetricsSettings {
    pub(crate) exporters: Vec<MetricsChoice>,
    pub(crate) exporters_source: &'static str,
    pub(crate) interval: Duration,
    pub(crate) interval_source: &'static str,
}

impl MetricsSettings {
    /// The names of the exporters, for `Telemetry::describe`.
    pub(crate) fn names(&self) -> String {
        if self.exporters.is_empty() {
            return "none".into();
        }
        self.exporters
            .iter()
            .map(|choice| match choice {
                MetricsChoice::Console => "console",
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                MetricsChoice::Otlp { .. } => "otlp",
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Reads both variables; `in_code` is the span exporter the builder was given.
pub(crate) fn from_env(in_code: Option<SpansChosenInCode>) -> Result<MetricsSettings, InitError> {
    let (exporters, exporters_source) = match (env_var("OTEL_METRICS_EXPORTER"), in_code) {
        (Some(value), _) => (choose(&value)?, "OTEL_METRICS_EXPORTER"),
        (None, None) => (default_exporters(), "default"),
        (None, Some(chosen)) => (following(chosen), "the span exporter set in code"),
    };
    let (interval, interval_source) = match env_var("OTEL_METRIC_EXPORT_INTERVAL") {
        None => (Duration::from_secs(60), "default"),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => (Duration::from_millis(ms), "OTEL_METRIC_EXPORT_INTERVAL"),
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_METRIC_EXPORT_INTERVAL",
                    value,
                    accepted: "a whole number of milliseconds, 1 or more".into(),
                });
            }
        },
    };
    Ok(MetricsSettings {
        exporters,
        exporters_source,
        interval,
        interval_source,
    })
}

fn default_exporters() -> Vec<MetricsChoice> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    return vec![MetricsChoice::Otlp {
        protocol: None,
        endpoint: None,
    }];
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    return Vec::new();
}

fn following(chosen: SpansChosenInCode) -> Vec<MetricsChoice> {
    match chosen {
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        SpansChosenInCode::Otlp { protocol, endpoint } => vec![MetricsChoice::Otlp {
            protocol,
            // An endpoint written with the traces path gets the metrics path.
            endpoint: endpoint.map(
                |e| match e.trim_end_matches('/').strip_suffix("/v1/traces") {
                    Some(base) => format!("{base}/v1/metrics"),
                    None => e,
                },
            ),
        }],
        SpansChosenInCode::Other => Vec::new(),
    }
}

/// `OTEL_METRICS_EXPORTER`: a comma-separated list (case-insensitive) of
/// `otlp`, `console`, `none`; `none` anywhere means no exporter.
fn choose(value: &str) -> Result<Vec<MetricsChoice>, InitError> {
    let mut chosen = Vec::new();
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        let choice = match name.as_str() {
            "" => continue,
            "none" => return Ok(Vec::new()),
            "console" => MetricsChoice::Console,
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            "otlp" => MetricsChoice::Otlp {
                protocol: None,
                endpoint: None,
            },
            #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
            "otlp" => {
                return Err(InitError::Unsupported {
                    what: "OTLP export of metrics (OTEL_METRICS_EXPORTER=otlp)".into(),
                    feature: "otlp",
                });
            }
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_METRICS_EXPORTER",
                    value: value.to_owned(),
                    accepted: "a comma-separated list of otlp, console, none".into(),
                });
            }
        };
        if !chosen.contains(&choice) {
            chosen.push(choice);
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::{MetricsChoice, choose};

    #[test]
    fn the_list_is_read_case_insensitively_and_none_wins() {
        assert_eq!(choose("CONSOLE").unwrap(), [MetricsChoice::Console]);
        assert_eq!(choose("console, none").unwrap(), []);
        assert_eq!(choose("console,console").unwrap(), [MetricsChoice::Console]);
        let error = choose("prometheus").unwrap_err().to_string();
        assert!(error.contains("OTEL_METRICS_EXPORTER"), "{error}");
        assert!(error.contains("otlp, console, none"), "{error}");
    }

    #[test]
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    fn metrics_follow_an_otlp_span_exporter_set_in_code() {
        use super::{SpansChosenInCode, following};
        let chosen = |endpoint: &str| SpansChosenInCode::Otlp {
            protocol: None,
            endpoint: Some(endpoint.into()),
        };
        let endpoint = |choices: Vec<MetricsChoice>| match &choices[..] {
            [MetricsChoice::Otlp { endpoint, .. }] => endpoint.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            endpoint(following(chosen("http://c:4318/v1/traces"))).as_deref(),
            Some("http://c:4318/v1/metrics")
        );
        assert_eq!(
            endpoint(following(chosen("http://c:4317"))).as_deref(),
            Some("http://c:4317")
        );
        assert!(following(SpansChosenInCode::Other).is_empty());
    }
}
