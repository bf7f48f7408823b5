//! Which metrics exporters `OTEL_METRICS_EXPORTER` picks, and
//! `OTEL_METRIC_EXPORT_INTERVAL`.
//!
//! Unset, it is `otlp` when the build has OTLP (the specification's default,
//! whatever `OTEL_TRACES_EXPORTER` says), else `none`; except when the builder
//! chose the span exporter in code: then metrics go to the same OTLP collector
//! if that was OTLP (`otlp()`), and nowhere otherwise (`console()`,
//! `no_export()`, a test's capturing exporter, a provider handed over). An
//! `otlp` metrics exporter takes the collector set in code too, unless
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` / `_PROTOCOL` name another.

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
        (Some(value), in_code) => (
            with_collector_in_code(choose(&value)?, in_code),
            "OTEL_METRICS_EXPORTER",
        ),
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
        SpansChosenInCode::Otlp { protocol, endpoint } => {
            vec![collector_in_code(protocol, endpoint)]
        }
        SpansChosenInCode::Other => Vec::new(),
    }
}

/// `otlp` in `OTEL_METRICS_EXPORTER` goes to the collector set in code, if any.
fn with_collector_in_code(
    chosen: Vec<MetricsChoice>,
    in_code: Option<SpansChosenInCode>,
) -> Vec<MetricsChoice> {
    match in_code {
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        Some(SpansChosenInCode::Otlp { protocol, endpoint }) => chosen
            .into_iter()
            .map(|choice| match choice {
                MetricsChoice::Otlp { .. } => collector_in_code(protocol, endpoint.clone()),
                other => other,
            })
            .collect(),
        _ => chosen,
    }
}

/// The OTLP collector set in code for spans, for metrics: below the
/// metrics-specific variables, which win.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn collector_in_code(
    protocol: Option<crate::OtlpProtocol>,
    endpoint: Option<String>,
) -> MetricsChoice {
    let endpoint = endpoint
        .filter(|_| env_var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_none())
        // An endpoint written with the traces path gets the metrics path.
        .map(
            |e| match e.trim_end_matches('/').strip_suffix("/v1/traces") {
                Some(base) => format!("{base}/v1/metrics"),
                None => e,
            },
        );
    let protocol = protocol.filter(|_| env_var("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL").is_none());
    MetricsChoice::Otlp { protocol, endpoint }
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
