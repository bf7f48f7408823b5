//! Set-up: [`init`] from the standard `OTEL_*` environment, or
//! [`Telemetry::builder`] in code. Installing registers the tracer spanwright's
//! macros use (and the OpenTelemetry global provider, for hand-written code).

use crate::export::choice::ExporterChoice;
use crate::export::truncate::Truncating;
use crate::setup::env::{disabled_by_env, env_var};
use crate::setup::error::InitError;
use crate::span::sampling::SamplerKind;
use crate::span::switch::Recorder;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider, SpanExporter};
use std::fmt;
use std::time::Duration;

/// Installs telemetry configured from the `OTEL_*` environment.
///
/// `OTEL_SDK_DISABLED=true` or `OTEL_ENABLED=false` leave everything off (the
/// returned `Telemetry` does nothing). Keep the `Telemetry` alive for as long as
/// spans should be exported: dropping it flushes and shuts down.
///
/// ```
/// // With OTEL_TRACES_EXPORTER=none nothing leaves the process.
/// # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
/// let telemetry = spanwright::init().expect("valid OTEL_* settings");
/// assert!(spanwright::enabled());
/// drop(telemetry);
/// assert!(!spanwright::enabled());
/// ```
pub fn init() -> Result<Telemetry, InitError> {
    Telemetry::builder().install()
}

/// Installed telemetry. Dropping it flushes pending spans and shuts the exporter
/// down, waiting at most the shutdown timeout (5 s unless configured).
pub struct Telemetry {
    installed: Option<Installed>,
    settings: Vec<Setting>,
}

struct Installed {
    provider: SdkTracerProvider,
    shutdown_timeout: Duration,
    _recorder: Recorder,
}

/// One resolved setting and where it came from, for [`Telemetry::describe`].
#[derive(Debug, Clone)]
struct Setting {
    name: &'static str,
    value: String,
    source: String,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.installed.is_some())
            .finish()
    }
}

impl Telemetry {
    /// Configures telemetry in code; settings made here win over the environment.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// Whether this `Telemetry` records spans (false when disabled by the
    /// environment).
    pub fn is_enabled(&self) -> bool {
        self.installed.is_some()
    }

    /// One line per setting: its value and where it came from.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// assert!(telemetry.describe().contains("exporter = none (code)"));
    /// ```
    pub fn describe(&self) -> String {
        self.settings
            .iter()
            .map(|s| format!("{} = {} ({})\n", s.name, s.value, s.source))
            .collect()
    }

    /// Exports every finished span now, waiting at most the exporter's flush bound.
    pub fn flush(&self) {
        if let Some(installed) = &self.installed {
            let _ = installed.provider.force_flush();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(installed) = self.installed.take() {
            crate::span::tracer::install(None);
            let _ = installed
                .provider
                .shutdown_with_timeout(installed.shutdown_timeout);
        }
    }
}

/// Builds a [`Telemetry`]: `Telemetry::builder().service_name("api").install()`.
#[must_use = "call `.install()` to install telemetry"]
#[derive(Default)]
pub struct TelemetryBuilder {
    service_name: Option<String>,
    exporter: Option<ExporterChoice>,
    sampler: Option<Sampler>,
    shutdown_timeout: Option<Duration>,
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// `service.name` (over `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Export to the terminal, each finished trace drawn as a tree.
    pub fn console(mut self) -> Self {
        self.exporter = Some(ExporterChoice::Console);
        self
    }

    /// Record spans but export nothing.
    pub fn no_export(mut self) -> Self {
        self.exporter = Some(ExporterChoice::None);
        self
    }

    /// Export through `exporter`, batched.
    pub fn exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        let processor = move |value_length: Option<usize>| {
            BatchSpanProcessor::builder(Truncating {
                inner: exporter,
                limit: value_length,
            })
            .build()
        };
        self.exporter = Some(ExporterChoice::Custom(Box::new(processor)));
        self
    }

    /// Export over OTLP to `endpoint` (over the `OTEL_EXPORTER_OTLP_*ENDPOINT`
    /// variables). For HTTP, a base URL gets the `/v1/traces` path.
    ///
    /// ```no_run
    /// # #[cfg(feature = "otlp-grpc")] {
    /// use spanwright::{OtlpProtocol, Telemetry};
    /// let telemetry = Telemetry::builder()
    ///     .otlp(OtlpProtocol::Grpc, "http://127.0.0.1:4317")
    ///     .install()
    ///     .unwrap();
    /// # }
    /// ```
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub fn otlp(mut self, protocol: crate::OtlpProtocol, endpoint: impl Into<String>) -> Self {
        self.exporter = Some(ExporterChoice::Otlp {
            protocol: Some(protocol),
            endpoint: Some(endpoint.into()),
        });
        self
    }

    /// The sampler (over `OTEL_TRACES_SAMPLER`).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// How long dropping [`Telemetry`] may wait for the last export (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Installs telemetry: the environment fills in what was not set in code.
    pub fn install(self) -> Result<Telemetry, InitError> {
        let mut settings = Vec::new();
        if disabled_by_env()? {
            settings.push(Setting {
                name: "enabled",
                value: "false".into(),
                source: "environment".into(),
            });
            return Ok(Telemetry {
                installed: None,
                settings,
            });
        }
        let exporter = match self.exporter {
            Some(choice) => {
                settings.push(Setting {
                    name: "exporter",
                    value: choice.name().into(),
                    source: "code".into(),
                });
                choice
            }
            None => {
                let (choice, source) = ExporterChoice::from_env()?;
                settings.push(Setting {
                    name: "exporter",
                    value: choice.name().into(),
                    source,
                });
                choice
            }
        };
        let (sampler, sampler_kind) = match self.sampler {
            Some(sampler) => {
                let kind = SamplerKind::of(&sampler);
                settings.push(Setting {
                    name: "sampler",
                    value: format!("{sampler:?}"),
                    source: "code".into(),
                });
                (sampler, kind)
            }
            None => {
                let (sampler, kind, source) = crate::setup::sampler::from_env()?;
                settings.push(Setting {
                    name: "sampler",
                    value: format!("{sampler:?}"),
                    source,
                });
                (sampler, kind)
            }
        };
        let (propagator, value, source) = crate::setup::propagators::from_env()?;
        settings.push(Setting {
            name: "propagators",
            value,
            source: source.into(),
        });
        let limits = crate::setup::limits::from_env()?;
        for (name, value, source) in &limits.sources {
            settings.push(Setting {
                name,
                value: value.clone(),
                source: (*source).into(),
            });
        }
        // Code, then OTEL_SERVICE_NAME, then `service.name` in OTEL_RESOURCE_ATTRIBUTES,
        // as the specification orders them (the SDK alone lets the last win).
        let (service_name, source) = match (&self.service_name, env_var("OTEL_SERVICE_NAME")) {
            (Some(name), _) => (Some(name.clone()), "code"),
            (None, Some(name)) => (Some(name), "OTEL_SERVICE_NAME"),
            (None, None) => (None, "OTEL_RESOURCE_ATTRIBUTES or default"),
        };
        let mut resource = opentelemetry_sdk::Resource::builder();
        if let Some(name) = service_name {
            resource = resource.with_service_name(name);
        }
        let resource = resource.build();
        let service = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        settings.push(Setting {
            name: "service.name",
            value: service,
            source: source.into(),
        });
        let shutdown_timeout = self.shutdown_timeout.unwrap_or(Duration::from_secs(5));

        let mut builder = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_resource(resource)
            .with_span_limits(limits.span);
        let value_length = limits.value_length;
        builder = match exporter {
            ExporterChoice::Console => {
                builder.with_span_processor(crate::export::console::processor(value_length))
            }
            ExporterChoice::None => builder,
            ExporterChoice::Custom(processor) => {
                builder.with_span_processor(processor(value_length))
            }
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            ExporterChoice::Otlp { protocol, endpoint } => {
                let protocol = match protocol {
                    Some(protocol) => protocol,
                    None => crate::export::otlp::OtlpProtocol::from_env()?.0,
                };
                settings.push(Setting {
                    name: "otlp.endpoint",
                    value: crate::export::otlp::describe_endpoint(protocol, endpoint.as_deref()),
                    source: if endpoint.is_some() {
                        "code"
                    } else {
                        "environment or default"
                    }
                    .into(),
                });
                let exporter = Truncating {
                    inner: crate::export::otlp::exporter(protocol, endpoint)?,
                    limit: value_length,
                };
                builder.with_span_processor(BatchSpanProcessor::builder(exporter).build())
            }
        };
        let provider = builder.build();
        let installed = crate::span::tracer::Installed {
            tracer: provider.tracer("spanwright"),
            provider: provider.clone(),
            sampler: sampler_kind,
        };
        if !crate::span::tracer::install_if_empty(installed) {
            return Err(InitError::AlreadyInstalled);
        }
        opentelemetry::global::set_tracer_provider(provider.clone());
        crate::context::propagation::set_propagator(propagator);
        let installed = Installed {
            provider,
            shutdown_timeout,
            _recorder: Recorder::register(),
        };
        Ok(Telemetry {
            installed: Some(installed),
            settings,
        })
    }
}
