//! Set-up: [`init`] from the standard `OTEL_*` environment, or
//! [`Telemetry::builder`] in code. Installing registers the tracer spanwright's
//! macros use (and the OpenTelemetry global provider, for hand-written code).

use crate::export::choice::ExporterChoice;
use crate::export::diagnostic::{Diagnostic, Sink};
use crate::export::stats::{Counters, ExportStats};
use crate::pipeline::destination::{Destination, SdkExporter};
use crate::pipeline::held::Holding;
use crate::pipeline::processor::QueueProcessor;
use crate::pipeline::queue::Queue;
use crate::pipeline::sink::Sink as SpanSink;
use crate::setup::env::{disabled_by_env, env_var};
use crate::setup::error::InitError;
use crate::span::sampling::SamplerKind;
use crate::span::switch::Recorder;
#[cfg(feature = "tracing")]
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a live [`Telemetry`] holds the installation (or one is being built).
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// Holds [`CLAIMED`] until dropped.
struct Claim(());

impl Claim {
    fn take() -> Result<Self, InitError> {
        CLAIMED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Claim(()))
            .map_err(|_| InitError::AlreadyInstalled)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMED.store(false, Ordering::Release);
    }
}

/// How long `#[traced_job(flush)]` waits by default.
const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

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
/// down, waiting at most the shutdown timeout (5 s unless configured); so does
/// [`Telemetry::shutdown`], which also returns the final [`ExportStats`].
///
/// Only one `Telemetry` is installed at a time: installing while one lives is
/// [`InitError::AlreadyInstalled`]. Installing makes it the OpenTelemetry global
/// tracer provider and propagator, for hand-written code; dropping it puts back
/// the global tracer provider it replaced (the no-op one, or the service's own).
/// OpenTelemetry's global API cannot hand back a replaced propagator, so the
/// global propagator becomes a no-op one on drop: a service that had set its own
/// sets it again after dropping the `Telemetry`.
///
/// ```
/// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
/// assert!(telemetry.is_enabled());
/// drop(telemetry); // flushes and shuts down
/// assert!(!spanwright::enabled());
/// ```
#[must_use = "dropping the `Telemetry` shuts telemetry down at once: keep it alive"]
pub struct Telemetry {
    installed: Option<Installed>,
    settings: Vec<Setting>,
}

struct Installed {
    provider: SdkTracerProvider,
    /// The global tracer provider this installation replaced, put back on drop.
    replaced_provider: opentelemetry::global::GlobalTracerProvider,
    flusher: Arc<crate::export::flush::Flusher>,
    shutdown_timeout: Duration,
    /// One per exporter; none when spans are recorded but not exported.
    counters: Vec<Arc<Counters>>,
    /// The provider was handed over by the application: not shut down here.
    borrowed: bool,
    /// Sampling that keeps errors, for its counts.
    holding: Option<Arc<Holding>>,
    /// The metrics export thread, when metrics are exported.
    #[cfg(feature = "metrics")]
    metrics: Option<Arc<crate::metrics::export::MetricsExport>>,
    #[cfg(feature = "metrics")]
    flush_timeout: Duration,
    _recorder: Recorder,
    _claim: Claim,
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
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().service_name("api").no_export().install().unwrap();
    /// assert!(telemetry.describe().contains("service.name = api (code)"));
    /// ```
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// Whether this `Telemetry` records spans (false when disabled by the
    /// environment).
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// assert!(telemetry.is_enabled());
    /// ```
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

    /// Exports every finished span now, and the metrics recorded so far,
    /// waiting at most the flush bound for each.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// telemetry.flush(); // before a planned pause, say
    /// ```
    pub fn flush(&self) {
        if let Some(installed) = &self.installed {
            let _ = installed.provider.force_flush();
            #[cfg(feature = "metrics")]
            if let Some(metrics) = &installed.metrics {
                metrics.flush(installed.flush_timeout);
            }
        }
    }

    /// What happened to the spans recorded so far: ended, exported, dropped and
    /// failed exports. All zero when telemetry is off.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// assert_eq!(telemetry.stats().spans_dropped, 0);
    /// ```
    pub fn stats(&self) -> ExportStats {
        self.installed
            .as_ref()
            .map(|i| with_held(sum(i.counters.iter().map(|c| c.snapshot())), i))
            .unwrap_or_default()
    }

    /// Flushes and shuts down (as dropping does) and returns the final counts:
    /// every ended span is then either exported or dropped (or, with sampling
    /// that keeps errors, discarded by the sampler: traces still open are
    /// decided on what they hold).
    ///
    /// ```
    /// use spanwright::opentelemetry_sdk::{error::OTelSdkResult, trace::{SpanData, SpanExporter}};
    /// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
    ///
    /// /// Counts what it is given: what `stats()` calls exported must match.
    /// #[derive(Debug, Clone, Default)]
    /// struct Counting(Arc<AtomicU64>);
    /// impl SpanExporter for Counting {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[spanwright::span]
    /// fn work() {}
    ///
    /// let received = Counting::default();
    /// let telemetry = spanwright::Telemetry::builder().exporter(received.clone()).install().unwrap();
    /// work();
    /// work();
    /// let stats = telemetry.shutdown();
    /// assert_eq!(stats.spans_ended, 2);
    /// assert_eq!(stats.spans_exported, received.0.load(Ordering::Relaxed));
    /// assert_eq!(stats.spans_dropped, 0);
    /// ```
    pub fn shutdown(mut self) -> ExportStats {
        self.shut_down()
    }

    fn shut_down(&mut self) -> ExportStats {
        let Some(installed) = self.installed.take() else {
            return ExportStats::default();
        };
        // `None`: a timeout too long to be an instant (`Duration::MAX`).
        let deadline = std::time::Instant::now().checked_add(installed.shutdown_timeout);
        // New spans stop here; hand-written code gets back the global provider
        // that was there before (the no-op one unless the service set its own).
        crate::span::tracer::install(None);
        // The last metrics export runs beside the spans' shutdown, within the
        // same bound.
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &installed.metrics {
            metrics.stop();
        }
        crate::span::filter::set(None);
        opentelemetry::global::set_tracer_provider(installed.replaced_provider.clone());
        crate::context::propagation::set_propagator(None);
        // Jobs waiting for a flush go on; the shutdown below exports what is left.
        installed.flusher.stop();
        // Traces still held are decided on what they hold (exported if anything
        // failed), before the queues go.
        if let Some(holding) = &installed.holding {
            holding.sweep(true);
        }
        if !installed.borrowed {
            let _ = installed
                .provider
                .shutdown_with_timeout(installed.shutdown_timeout);
        }
        let stats = sum(installed.counters.iter().map(|counters| {
            let settled = counters.settle();
            counters.report_summary(&settled);
            settled
        }));
        let stats = with_held(stats, &installed);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &installed.metrics {
            metrics.wait_stopped(deadline);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = deadline;
        // The default sink writes from a thread of its own: the summary is out
        // before `main` returns (never waiting long on a stderr nobody reads).
        crate::export::diagnostic::drain_stderr(Duration::from_millis(200));
        stats
    }
}

/// The counts of sampling that keeps errors, beside the exporters'.
fn with_held(mut stats: ExportStats, installed: &Installed) -> ExportStats {
    if let Some(holding) = &installed.holding {
        let (discarded, forced_out) = holding.counts();
        stats.spans_discarded_by_sampler = discarded;
        stats.spans_forced_out = forced_out;
    }
    stats
}

/// The counts of several exporters: each span counts once per exporter.
fn sum(all: impl Iterator<Item = ExportStats>) -> ExportStats {
    all.fold(ExportStats::default(), |total, s| ExportStats {
        spans_ended: total.spans_ended + s.spans_ended,
        spans_exported: total.spans_exported + s.spans_exported,
        spans_dropped: total.spans_dropped + s.spans_dropped,
        export_failures: total.export_failures + s.export_failures,
        spans_dropped_queue_full: total.spans_dropped_queue_full + s.spans_dropped_queue_full,
        spans_lost_in_failed_exports: total.spans_lost_in_failed_exports
            + s.spans_lost_in_failed_exports,
        spans_discarded_by_sampler: total.spans_discarded_by_sampler + s.spans_discarded_by_sampler,
        spans_forced_out: total.spans_forced_out + s.spans_forced_out,
    })
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Builds a [`Telemetry`]: `Telemetry::builder().service_name("api").install()`.
///
/// ```
/// use std::time::Duration;
/// let telemetry = spanwright::Telemetry::builder()
///     .service_name("worker")
///     .no_export()
///     .shutdown_timeout(Duration::from_secs(2))
///     .install()
///     .unwrap();
/// # drop(telemetry);
/// ```
#[must_use = "call `.install()` to install telemetry"]
#[derive(Default)]
pub struct TelemetryBuilder {
    service_name: Option<String>,
    exporter: Option<ExporterChoice>,
    sampler: Option<Sampler>,
    shutdown_timeout: Option<Duration>,
    flush_timeout: Option<Duration>,
    diagnostics: Option<Sink>,
    spans: Option<String>,
    provider: Option<SdkTracerProvider>,
    keep_errors: Option<f64>,
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// Record annotated functions through the application's own OpenTelemetry
    /// set-up: its provider's processors, exporters and sampler, instead of
    /// spanwright's (exporters and samplers set here or in `OTEL_*` are then not
    /// used; propagation, `SPANWRIGHT_SPANS` and the panic hook still are). The
    /// provider stays the application's: [`Telemetry`] uninstalls without
    /// shutting it down, and its `stats()` counts nothing (the application's
    /// processors see every span).
    ///
    /// ```
    /// use spanwright::opentelemetry::trace::{Tracer as _, TracerProvider as _};
    /// use spanwright::opentelemetry_sdk::trace::SdkTracerProvider;
    ///
    /// #[spanwright::span]
    /// fn library_call() {}
    ///
    /// // The application's own set-up (its exporters and processors here).
    /// let provider = SdkTracerProvider::builder().build();
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .tracer_provider(provider.clone())
    ///     .install()
    ///     .unwrap();
    /// provider.tracer("app").in_span("request", |_| library_call());
    /// drop(telemetry);
    /// provider.shutdown().unwrap(); // the application's to shut down
    /// ```
    pub fn tracer_provider(mut self, provider: SdkTracerProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Which annotated functions record spans, by crate or module path (over
    /// `SPANWRIGHT_SPANS`): comma-separated `target=on|off` directives, the most
    /// specific target winning, everything on by default. A function turned off
    /// runs without a span; what it calls attaches to its caller's span. A bad
    /// directive is an [`InitError`] at install.
    ///
    /// ```
    /// mod storage {
    ///     #[spanwright::span]
    ///     pub fn fetch() {}
    /// }
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .spans("rust_out::storage=off")
    ///     .no_export()
    ///     .install()
    ///     .unwrap();
    /// assert!(telemetry.describe().contains("spans = rust_out::storage=off"));
    /// # storage::fetch();
    /// ```
    pub fn spans(mut self, directives: impl Into<String>) -> Self {
        self.spans = Some(directives.into());
        self
    }

    /// `service.name` (over `OTEL_SERVICE_NAME`).
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().service_name("billing").no_export().install().unwrap();
    /// assert!(telemetry.describe().contains("service.name = billing"));
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Export to the terminal, each finished trace drawn as a tree.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().console().install().unwrap();
    /// assert!(telemetry.describe().contains("exporter = console (code)"));
    /// ```
    pub fn console(mut self) -> Self {
        self.exporter = Some(ExporterChoice::Console);
        self
    }

    /// Record spans but export nothing.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// assert!(telemetry.describe().contains("exporter = none (code)"));
    /// ```
    pub fn no_export(mut self) -> Self {
        self.exporter = Some(ExporterChoice::None);
        self
    }

    /// Export through `exporter`, batched.
    ///
    /// ```
    /// use spanwright::opentelemetry_sdk::{error::OTelSdkResult, trace::{SpanData, SpanExporter}};
    /// #[derive(Debug)]
    /// struct Stdout;
    /// impl SpanExporter for Stdout {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         for span in batch { println!("{}", span.name); }
    ///         Ok(())
    ///     }
    /// }
    /// let telemetry = spanwright::Telemetry::builder().exporter(Stdout).install().unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        let destination = move |resource: &_| -> Box<dyn Destination> {
            Box::new(SdkExporter::new(exporter, resource))
        };
        self.exporter = Some(ExporterChoice::Custom(Box::new(destination)));
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
    ///
    /// ```
    /// use spanwright::opentelemetry_sdk::trace::Sampler;
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .sampler(Sampler::TraceIdRatioBased(0.1))
    ///     .no_export()
    ///     .install()
    ///     .unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Sampling that keeps errors (over `OTEL_TRACES_SAMPLER`, as
    /// `parentbased_traceidratio_keep_errors` with `OTEL_TRACES_SAMPLER_ARG`):
    /// `ratio` of the traces chosen up front (by trace id, as
    /// `parentbased_traceidratio` chooses them), and every other local trace in
    /// which a span ends with status Error, whole. See the crate docs, "Sampling
    /// that keeps errors". A ratio outside 0.0..=1.0 is an [`InitError`].
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .keep_errors(0.1) // 10 % of traces, and every failed one
    ///     .no_export()
    ///     .install()
    ///     .unwrap();
    /// assert!(telemetry.describe().contains("sampler = parentbased_traceidratio_keep_errors 0.1"));
    /// ```
    pub fn keep_errors(mut self, ratio: f64) -> Self {
        self.keep_errors = Some(ratio);
        self
    }

    /// How long dropping [`Telemetry`] may wait for the last export (default 5 s).
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .shutdown_timeout(std::time::Duration::from_millis(500))
    ///     .no_export()
    ///     .install()
    ///     .unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// How long `#[traced_job(flush)]` waits for the job's spans to be exported
    /// (default 1 s). An async job awaits the flush without blocking its thread.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .flush_timeout(std::time::Duration::from_millis(200))
    ///     .no_export()
    ///     .install()
    ///     .unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = Some(timeout);
        self
    }

    /// Routes spanwright's own lines (spans dropped, exports failed, the
    /// shutdown summary) to `f` instead of stderr, e.g. into the service's own
    /// logging. `f` runs on the thread that noticed (a span's end, the export
    /// thread, `Drop for Telemetry`): keep it short and never block in it.
    ///
    /// Without it, the lines go to stderr from a writer thread of their own: a
    /// closed stderr or a broken pipe never panics or blocks the application.
    ///
    /// ```
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .no_export()
    ///     .on_diagnostic(|diagnostic| {
    ///         // tracing::warn!(target: "spanwright", "{diagnostic}");
    ///         let _ = diagnostic.kind();
    ///     })
    ///     .install()
    ///     .unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn on_diagnostic(mut self, f: impl Fn(&Diagnostic) + Send + Sync + 'static) -> Self {
        self.diagnostics = Some(Sink::to(f));
        self
    }

    /// Installs telemetry: the environment fills in what was not set in code.
    ///
    /// Fails with [`InitError::AlreadyInstalled`], before building anything, while
    /// another [`Telemetry`] lives.
    ///
    /// ```
    /// let first = spanwright::Telemetry::builder().no_export().install().unwrap();
    /// let second = spanwright::Telemetry::builder().no_export().install();
    /// assert_eq!(second.unwrap_err(), spanwright::InitError::AlreadyInstalled);
    /// # drop(first);
    /// ```
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
        // Before anything is built: no second pipeline, no threads, while one lives.
        let claim = Claim::take()?;
        #[cfg(feature = "metrics")]
        let metrics_settings = {
            use crate::setup::metrics_settings::SpansChosenInCode;
            let in_code = match (&self.provider, &self.exporter) {
                (Some(_), _) => Some(SpansChosenInCode::Other),
                (None, None) => None,
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                (None, Some(ExporterChoice::Otlp { protocol, endpoint })) => {
                    Some(SpansChosenInCode::Otlp {
                        protocol: *protocol,
                        endpoint: endpoint.clone(),
                    })
                }
                (None, Some(_)) => Some(SpansChosenInCode::Other),
            };
            crate::setup::metrics_settings::from_env(in_code)?
        };
        let (exporters, source) = match self.exporter {
            // The application's provider exports: nothing of spanwright's is built.
            _ if self.provider.is_some() => (Vec::new(), "code".to_owned()),
            Some(choice) => (vec![choice], "code".to_owned()),
            None => ExporterChoice::from_env()?,
        };
        settings.push(Setting {
            name: "exporter",
            value: exporters
                .iter()
                .map(ExporterChoice::name)
                .collect::<Vec<_>>()
                .join(","),
            source,
        });
        let (sampler, sampler_kind, keep_errors) = match (self.keep_errors, self.sampler) {
            (Some(ratio), _) => {
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(InitError::InvalidVariable {
                        variable: "TelemetryBuilder::keep_errors",
                        value: ratio.to_string(),
                        accepted: "a ratio from 0.0 to 1.0".into(),
                    });
                }
                settings.push(Setting {
                    name: "sampler",
                    value: format!("parentbased_traceidratio_keep_errors {ratio}"),
                    source: "code".into(),
                });
                let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)));
                (sampler, SamplerKind::KeepErrors, Some(ratio))
            }
            (None, Some(sampler)) => {
                let kind = SamplerKind::of(&sampler);
                settings.push(Setting {
                    name: "sampler",
                    value: format!("{sampler:?}"),
                    source: "code".into(),
                });
                (sampler, kind, None)
            }
            (None, None) => {
                let (sampler, kind, source, keep_errors) = crate::setup::sampler::from_env()?;
                let value = match keep_errors {
                    Some(ratio) => format!("parentbased_traceidratio_keep_errors {ratio}"),
                    None => format!("{sampler:?}"),
                };
                settings.push(Setting {
                    name: "sampler",
                    value,
                    source,
                });
                (sampler, kind, keep_errors)
            }
        };
        // A provider handed over samples with its own sampler.
        let keep_errors = keep_errors.filter(|_| self.provider.is_none());
        if self.provider.is_some()
            && let Some(setting) = settings.iter_mut().find(|s| s.name == "sampler")
        {
            setting.value = "the application's provider's own".into();
            setting.source = "code".into();
        }
        let hold_limits = match keep_errors {
            Some(_) => {
                let (limits, sources) = crate::setup::sampler::hold_limits()?;
                for (name, value, source) in sources {
                    settings.push(Setting {
                        name,
                        value,
                        source: source.into(),
                    });
                }
                Some(limits)
            }
            None => None,
        };
        let (spans, source) = match self.spans {
            Some(text) => (Some(text), "code"),
            None => (env_var("SPANWRIGHT_SPANS"), "environment"),
        };
        let filter = match spans {
            None => None,
            Some(text) => {
                let directives = crate::span::filter::Directives::parse(&text).map_err(|why| {
                    InitError::InvalidVariable {
                        variable: "SPANWRIGHT_SPANS",
                        value: text.clone(),
                        accepted: format!(
                            "comma-separated `target=on|off` directives, a target a crate or module path ({why})"
                        ),
                    }
                })?;
                settings.push(Setting {
                    name: "spans",
                    value: text,
                    source: source.into(),
                });
                Some(directives)
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

        let flush_timeout = self.flush_timeout.unwrap_or(DEFAULT_FLUSH_TIMEOUT);

        let mut builder = SdkTracerProvider::builder()
            .with_sampler(sampler.clone())
            .with_resource(resource.clone())
            .with_span_limits(limits.span);
        let value_length = limits.value_length;
        let mut all_counters = Vec::new();
        let mut queues = Vec::new();
        let sink = self.diagnostics.clone().unwrap_or_else(Sink::stderr);
        for exporter in exporters {
            let console = matches!(exporter, ExporterChoice::Console);
            if matches!(exporter, ExporterChoice::None) {
                continue;
            }
            let batch = crate::setup::batch_settings::from_env(console)?;
            for (name, value, source) in &batch.sources {
                settings.push(Setting {
                    name,
                    value: value.clone(),
                    source: (*source).into(),
                });
            }
            let counters = |destination: String| {
                Arc::new(Counters::new(batch.queue_size, destination, sink.clone()))
            };
            let (destination, counters): (Box<dyn Destination>, _) = match exporter {
                ExporterChoice::None => continue,
                ExporterChoice::Console => {
                    let console = crate::export::console::ConsoleExporter::stderr();
                    (
                        Box::new(SdkExporter::new(console, &resource)),
                        counters("the console".into()),
                    )
                }
                ExporterChoice::Custom(make) => (make(&resource), counters("the exporter".into())),
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                ExporterChoice::Otlp { protocol, endpoint } => {
                    let protocol_in_code = protocol.is_some();
                    let otlp = crate::setup::otlp_settings::from_env(
                        crate::setup::otlp_settings::Signal::Traces,
                        protocol,
                        endpoint,
                    )?;
                    settings.push(Setting {
                        name: "otlp.endpoint",
                        value: crate::setup::otlp_settings::without_userinfo(&otlp.endpoint),
                        source: otlp.endpoint_source.into(),
                    });
                    settings.push(Setting {
                        name: "otlp.protocol",
                        value: otlp.protocol.name().into(),
                        source: if protocol_in_code {
                            "code"
                        } else {
                            "environment or default"
                        }
                        .into(),
                    });
                    let destination = otlp.destination();
                    let secrets = otlp.secrets();
                    let counters = Arc::new(Counters::new(
                        batch.queue_size,
                        destination,
                        sink.clone().redacting(secrets.clone()),
                    ));
                    let exporter =
                        crate::export::otlp::exporter(otlp, Arc::clone(&counters), &resource)
                            .map_err(|error| error.redacted(&secrets))?;
                    (Box::new(exporter), counters)
                }
            };
            let queue = Queue::start(destination, &batch, value_length, Arc::clone(&counters))
                .map_err(|error| {
                    InitError::Exporter(format!("cannot start the export thread: {error}"))
                })?;
            all_counters.push(counters);
            builder = builder.with_span_processor(QueueProcessor(Arc::clone(&queue)));
            queues.push(queue);
        }
        let borrowed = self.provider.is_some();
        let (provider, sampler_kind) = match self.provider {
            Some(provider) => {
                settings.push(Setting {
                    name: "tracer provider",
                    value: "the application's own".into(),
                    source: "code".into(),
                });
                // Its sampler is opaque: decided by the SDK at each span.
                (provider, SamplerKind::Other)
            }
            None => (builder.build(), sampler_kind),
        };
        #[cfg(feature = "metrics")]
        let (meter, metrics) = {
            settings.push(Setting {
                name: "metrics.exporter",
                value: metrics_settings.names(),
                source: metrics_settings.exporters_source.into(),
            });
            settings.push(Setting {
                name: "metrics.interval",
                value: format!("{} ms", metrics_settings.interval.as_millis()),
                source: metrics_settings.interval_source.into(),
            });
            let mut described = Vec::new();
            let started =
                crate::metrics::export::start(&metrics_settings, &resource, &sink, &mut described)?;
            for (name, value, source) in described {
                settings.push(Setting {
                    name,
                    value,
                    source,
                });
            }
            match started {
                Some((meter, export)) => (Some(meter), Some(Arc::new(export))),
                None => (None, None),
            }
        };
        let flusher = crate::export::flush::Flusher::new(provider.clone(), flush_timeout);
        // A job's flush exports its metrics too (a one-shot job may exit
        // without dropping its `Telemetry`).
        #[cfg(feature = "metrics")]
        let flusher = match &metrics {
            Some(metrics) => {
                let metrics = Arc::clone(metrics);
                flusher.also_flushing(Arc::new(move || metrics.flush(flush_timeout)))
            }
            None => flusher,
        };
        let flusher = Arc::new(flusher);
        crate::span::filter::set(filter);
        let queues: Arc<[Arc<Queue>]> = queues.into();
        let holding = match (keep_errors, hold_limits) {
            (Some(ratio), Some(limits)) if !borrowed => Some(Arc::new(Holding::new(
                ratio,
                limits,
                Arc::clone(&queues),
                value_length,
            ))),
            _ => None,
        };
        let own = (!borrowed).then(|| crate::span::tracer::Own {
            sink: SpanSink::Queues(queues),
            holding: holding.clone(),
            limits: limits.span,
            sampler: Box::new(sampler),
        });
        crate::span::tracer::install(Some(crate::span::tracer::Installed {
            own,
            provider: provider.clone(),
            scoped: Default::default(),
            #[cfg(feature = "tracing")]
            tracer: provider.tracer_with_scope(crate::span::site::spanwright_scope()),
            flusher: Arc::clone(&flusher),
            sampler: sampler_kind,
            #[cfg(feature = "metrics")]
            meter,
        }));
        let replaced_provider = opentelemetry::global::tracer_provider();
        opentelemetry::global::set_tracer_provider(provider.clone());
        crate::context::propagation::set_propagator(Some(propagator));
        let installed = Installed {
            provider,
            replaced_provider,
            flusher,
            shutdown_timeout,
            counters: all_counters,
            borrowed,
            holding,
            #[cfg(feature = "metrics")]
            metrics,
            #[cfg(feature = "metrics")]
            flush_timeout,
            _recorder: Recorder::register(),
            _claim: claim,
        };
        Ok(Telemetry {
            installed: Some(installed),
            settings,
        })
    }
}
