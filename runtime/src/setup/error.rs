//! [`InitError`]: why telemetry could not be set up.

use std::fmt;

/// Why telemetry could not be set up. Its `Display` names the variable, the value
/// and what is accepted.
///
/// ```
/// # unsafe { std::env::set_var("OTEL_TRACES_SAMPLER", "sometimes") };
/// let error = spanwright::init().unwrap_err();
/// assert!(error.to_string().starts_with("OTEL_TRACES_SAMPLER=\"sometimes\" is not valid"));
/// # unsafe { std::env::remove_var("OTEL_TRACES_SAMPLER") };
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum InitError {
    /// An environment variable holds a value spanwright does not accept.
    InvalidVariable {
        /// The variable, such as `OTEL_TRACES_SAMPLER`.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What would be accepted.
        accepted: String,
    },
    /// The configuration asks for something this build does not contain.
    Unsupported {
        /// What was asked for, such as `OTLP over grpc`.
        what: String,
        /// The cargo feature of `spanwright` that provides it.
        feature: &'static str,
    },
    /// The exporter could not be built (for example an endpoint that is not a URL).
    Exporter(String),
    /// Telemetry is already installed by another live [`crate::Telemetry`].
    AlreadyInstalled,
}

impl InitError {
    /// An exporter's build error without the secrets it may quote.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) fn redacted(self, secrets: &[String]) -> Self {
        match self {
            InitError::Exporter(reason) => {
                InitError::Exporter(crate::export::diagnostic::redact(&reason, secrets))
            }
            other => other,
        }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidVariable { variable, value, accepted } => {
                write!(f, "{variable}={value:?} is not valid: {accepted}")
            }
            InitError::Unsupported { what, feature } => {
                write!(f, "{what} needs the `{feature}` feature of spanwright")
            }
            InitError::Exporter(reason) => write!(f, "the exporter cannot start: {reason}"),
            InitError::AlreadyInstalled => {
                f.write_str("telemetry is already installed; drop the first `Telemetry` before installing again")
            }
        }
    }
}

/// The same text as `Display`: `main` returning `Result<_, InitError>`, or an
/// `.expect(..)`, shows the helpful line rather than the variant's fields.
impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for InitError {}
