//! OTLP export (features `otlp-grpc`, `otlp-http`): the transports are in
//! `otlp_grpc` and `otlp_http`. The exporters need a Tokio
//! reactor, while the SDK's batch processor exports from a plain thread and
//! `init()` may run in a sync `main` or inside a Tokio runtime: so each exporter
//! lives on a small runtime of its own, driven by a dedicated thread, and the batch
//! thread hands it work. A dead or hung collector then never blocks the
//! application: the batch queue fills and drops, and shutdown is bounded.

use crate::setup::error::InitError;
use crate::setup::otlp_settings::{OtlpProtocol, OtlpSettings};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Builds the OTLP exporter, on a runtime of its own.
pub(crate) fn exporter(settings: OtlpSettings) -> Result<OnOwnRuntime<Otlp>, InitError> {
    OnOwnRuntime::start(move || build(settings))
}

/// The exporter of one transport; both write the request's bytes straight from
/// the spans (`pipeline::encoder`).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per installation, never moved after
pub(crate) enum Otlp {
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::otlp_grpc::GrpcExporter),
    #[cfg(feature = "otlp-http")]
    Http(super::otlp_http::HttpExporter),
}

impl SpanExporter for Otlp {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Otlp::Grpc(exporter) => exporter.export(batch).await,
            #[cfg(feature = "otlp-http")]
            Otlp::Http(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Otlp::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otlp-http")]
            Otlp::Http(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Otlp::Grpc(exporter) => exporter.set_resource(resource),
            #[cfg(feature = "otlp-http")]
            Otlp::Http(exporter) => exporter.set_resource(resource),
        }
    }
}

fn build(settings: OtlpSettings) -> Result<Otlp, InitError> {
    match settings.protocol {
        #[cfg(feature = "otlp-grpc")]
        OtlpProtocol::Grpc => super::otlp_grpc::exporter(settings).map(Otlp::Grpc),
        #[cfg(feature = "otlp-http")]
        OtlpProtocol::HttpProtobuf => super::otlp_http::exporter(settings).map(Otlp::Http),
        #[allow(unreachable_patterns)]
        other => Err(InitError::Unsupported {
            what: format!("OTLP over {}", other.name()),
            feature: if other == OtlpProtocol::Grpc {
                "otlp-grpc"
            } else {
                "otlp-http"
            },
        }),
    }
}

/// The headers spanwright parsed and validated, as a header map.
pub(super) fn header_map(headers: &[(String, String)]) -> ::http::HeaderMap {
    headers
        .iter()
        .filter_map(|(key, value)| {
            Some((
                ::http::HeaderName::from_bytes(key.as_bytes()).ok()?,
                ::http::HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect()
}

/// Retries of one export, as OTLP exporters make them: at most three more
/// attempts after a transient failure, 100 ms apart and doubling, with jitter, or
/// as long as the server asked (`Retry-After`), never past the export's timeout.
pub(super) struct Retries {
    deadline: std::time::Instant,
    done: u32,
}

impl Retries {
    const MAX: u32 = 3;

    pub(super) fn within(timeout: Duration) -> Self {
        Retries {
            deadline: std::time::Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| std::time::Instant::now() + Duration::from_secs(86_400)),
            done: 0,
        }
    }

    /// Waits before the next attempt; `false` when there is none.
    pub(super) async fn wait(&mut self, asked: Option<Duration>) -> bool {
        if self.done >= Self::MAX {
            return false;
        }
        let backoff = Duration::from_millis(100) * 2u32.pow(self.done);
        // Up to half again, so that many exporters do not retry in step.
        let jitter = {
            use std::hash::BuildHasher as _;
            let random = std::collections::hash_map::RandomState::new().hash_one(self.done);
            backoff.mul_f64((random % 1000) as f64 / 2000.0)
        };
        let delay = asked.unwrap_or(backoff + jitter);
        if std::time::Instant::now() + delay >= self.deadline {
            return false;
        }
        self.done += 1;
        tokio::time::sleep(delay).await;
        true
    }
}

/// An error and its causes, for the one line that reports a failed export.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// An exporter whose futures run on a runtime owned by a thread of its own.
pub(crate) struct OnOwnRuntime<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl<E> fmt::Debug for OnOwnRuntime<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnOwnRuntime").finish_non_exhaustive()
    }
}

impl<E: Send + Sync + 'static> OnOwnRuntime<E> {
    fn start(
        make: impl FnOnce() -> Result<E, InitError> + Send + 'static,
    ) -> Result<Self, InitError> {
        let (built_tx, built_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("spanwright-otlp".into())
            .spawn(move || {
                // Nothing the export does is recorded (see `suppressed`).
                let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .on_thread_start(suppressed)
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = built_tx.send(Err(InitError::Exporter(format!(
                            "cannot start the export runtime: {error}"
                        ))));
                        return;
                    }
                };
                let made = {
                    let _entered = runtime.enter();
                    make()
                };
                let ok = made.is_ok();
                let _ = built_tx.send(made.map(|exporter| (exporter, runtime.handle().clone())));
                if ok {
                    // Drive the exporter's connections and exports until told to stop.
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                }
            })
            .map_err(|error| {
                InitError::Exporter(format!("cannot start the export thread: {error}"))
            })?;
        let (inner, runtime) = built_rx.recv().map_err(|_| {
            InitError::Exporter("the export thread stopped while starting".into())
        })??;
        Ok(OnOwnRuntime {
            inner: Arc::new(inner),
            runtime,
            stop: std::sync::Mutex::new(Some(stop)),
        })
    }
}

/// A thread of the export runtime (its blocking pool: name resolution) runs in
/// OpenTelemetry's suppressed-telemetry scope for its whole life, so that what the
/// exporter's libraries emit there (`tracing` spans and events of tonic, hyper,
/// h2) is never bridged, logged or exported, which would feed itself.
fn suppressed() {
    std::mem::forget(opentelemetry::Context::enter_telemetry_suppressed_scope());
}

impl<E> Drop for OnOwnRuntime<E> {
    fn drop(&mut self) {
        let stop = self.stop.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
    }
}

impl<E: SpanExporter + 'static> OnOwnRuntime<E> {
    /// Runs `work` on the exporter's runtime and waits for it, at most `timeout`.
    fn run_bounded(
        &self,
        timeout: Duration,
        work: impl FnOnce(&E) -> OTelSdkResult + Send + 'static,
    ) -> OTelSdkResult {
        let inner = Arc::clone(&self.inner);
        let (done, result) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = done.send(work(&inner));
        });
        result
            .recv_timeout(timeout)
            .unwrap_or(Err(OTelSdkError::Timeout(timeout)))
    }
}

impl<E: SpanExporter + 'static> SpanExporter for OnOwnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let inner = Arc::clone(&self.inner);
        let task = self.runtime.spawn(async move { inner.export(batch).await });
        async move {
            task.await
                .unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string())))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.run_bounded(timeout, move |inner| inner.shutdown_with_timeout(timeout));
        // The export thread ends with the exporter's shutdown, not when the last
        // handle on the provider happens to drop.
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}
