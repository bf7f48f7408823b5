//! OTLP export (features `otlp-grpc`, `otlp-http`): the transports are in
//! `otlp_grpc` and `otlp_http`. The exporters need a Tokio
//! reactor, while the export queue's thread is a plain one and
//! `init()` may run in a sync `main` or inside a Tokio runtime: so each exporter
//! lives on a small runtime of its own, driven by a dedicated thread, and the
//! queue's thread hands it work. A dead or hung collector then never blocks the
//! application: the batch queue fills and drops, and shutdown is bounded.

use crate::export::stats::Counters;
use crate::pipeline::destination::Destination;
use crate::pipeline::finished::Finished;
use crate::setup::error::InitError;
use crate::setup::otlp_settings::{OtlpProtocol, OtlpSettings};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::Resource;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Builds the OTLP exporter, on a runtime of its own; spans a collector rejects
/// in an answer of partial success are counted in `counters`.
pub(crate) fn exporter(
    settings: OtlpSettings,
    counters: Arc<Counters>,
    resource: &Resource,
) -> Result<OnOwnRuntime<Otlp>, InitError> {
    let resource = resource.clone();
    OnOwnRuntime::start(move || {
        let otlp = build(settings, Some(counters))?.with_resource(resource);
        Ok(otlp)
    })
}

/// The OTLP exporter: the request's bytes written straight from the spans
/// (`pipeline::encoder`) under the installation's resource, sent by one
/// transport.
#[derive(Debug)]
pub(crate) struct Otlp {
    transport: Transport,
    resource: Resource,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per installation, never moved after
enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::otlp_grpc::GrpcExporter),
    #[cfg(feature = "otlp-http")]
    Http(super::otlp_http::HttpExporter),
}

impl Otlp {
    /// The exporter of spans under `resource`.
    pub(super) fn with_resource(self, resource: Resource) -> Self {
        Otlp { resource, ..self }
    }

    pub(super) async fn export(&self, batch: &[Finished]) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(256 * batch.len());
        crate::pipeline::encoder::export_request(&mut body, &self.resource, batch);
        self.export_encoded(body).await
    }

    /// Sends an encoded request (of spans or metrics).
    async fn export_encoded(&self, body: Vec<u8>) -> OTelSdkResult {
        match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.export_encoded(body).await,
            #[cfg(feature = "otlp-http")]
            Transport::Http(exporter) => exporter.export_encoded(body).await,
        }
    }

    fn shutdown(&self) {
        match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(exporter) => exporter.shutdown(),
            #[cfg(feature = "otlp-http")]
            Transport::Http(exporter) => exporter.shutdown(),
        }
    }
}

/// The exporter of `settings`, with an empty resource.
pub(super) fn build(
    settings: OtlpSettings,
    counters: Option<Arc<Counters>>,
) -> Result<Otlp, InitError> {
    let transport = match settings.protocol {
        #[cfg(feature = "otlp-grpc")]
        OtlpProtocol::Grpc => super::otlp_grpc::exporter(settings, counters).map(Transport::Grpc),
        #[cfg(feature = "otlp-http")]
        OtlpProtocol::HttpProtobuf => {
            super::otlp_http::exporter(settings, counters).map(Transport::Http)
        }
        #[allow(unreachable_patterns)]
        other => Err(InitError::Unsupported {
            what: format!("OTLP over {}", other.name()),
            feature: if other == OtlpProtocol::Grpc {
                "otlp-grpc"
            } else {
                "otlp-http"
            },
        }),
    }?;
    Ok(Otlp {
        transport,
        resource: Resource::builder_empty().build(),
    })
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

/// What an `ExportTraceServiceResponse` says of rejected spans: its
/// `partial_success` (field 1) with `rejected_spans` (1) and `error_message`
/// (2). `None` when nothing was rejected or the answer cannot be read (an
/// answer is not required to say anything).
pub(super) fn partial_success(mut response: &[u8]) -> Option<(u64, String)> {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
    let mut partial: Option<&[u8]> = None;
    while !response.is_empty() {
        let (tag, wire_type) = decode_key(&mut response).ok()?;
        if tag == 1 && wire_type == WireType::LengthDelimited {
            let len = usize::try_from(decode_varint(&mut response).ok()?).ok()?;
            partial = Some(response.get(..len)?);
            response = &response[len..];
        } else {
            skip_field(wire_type, tag, &mut response, DecodeContext::default()).ok()?;
        }
    }
    let mut partial = partial?;
    let (mut rejected, mut message) = (0u64, String::new());
    while !partial.is_empty() {
        let (tag, wire_type) = decode_key(&mut partial).ok()?;
        match (tag, wire_type) {
            (1, WireType::Varint) => rejected = decode_varint(&mut partial).ok()?,
            (2, WireType::LengthDelimited) => {
                let len = usize::try_from(decode_varint(&mut partial).ok()?).ok()?;
                // The collector's words, cut short and on one line.
                let text = String::from_utf8_lossy(partial.get(..len)?);
                message = text.chars().filter(|c| !c.is_control()).take(200).collect();
                partial = &partial[len..];
            }
            _ => skip_field(wire_type, tag, &mut partial, DecodeContext::default()).ok()?,
        }
    }
    // `rejected_spans` is an int64: a negative count is no count.
    let rejected = i64::try_from(rejected).ok().filter(|n| *n > 0)? as u64;
    Some((rejected, message))
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

/// The OTLP exporter of metrics, on a runtime of its own; it sends requests
/// the metrics encoder wrote.
#[cfg(feature = "metrics")]
pub(crate) fn metrics_exporter(settings: OtlpSettings) -> Result<OnOwnRuntime<Otlp>, InitError> {
    OnOwnRuntime::start(move || build(settings, None))
}

#[cfg(feature = "metrics")]
impl OnOwnRuntime<Otlp> {
    /// Sends an encoded request and waits for the answer (bounded by the
    /// exporter's own timeout and retries).
    pub(crate) fn send(&self, body: Vec<u8>) -> Result<(), String> {
        let inner = Arc::clone(&self.inner);
        let (done, result) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = done.send(inner.export_encoded(body).await);
        });
        match result.recv() {
            Ok(outcome) => outcome.map_err(|error| error.to_string()),
            // Stopped at shutdown with the timeout spent, or the export panicked.
            Err(_) => {
                Err("the export runtime stopped (shutdown timeout, or the export panicked)".into())
            }
        }
    }

    /// Refuses further requests and stops the runtime's thread.
    pub(crate) fn stop(&self) {
        self.inner.shutdown();
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
    }
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

impl Destination for OnOwnRuntime<Otlp> {
    /// Runs the export on the exporter's runtime and waits for it (bounded by
    /// the exporter's own timeout and retries).
    fn export(&mut self, batch: &mut Vec<Finished>) -> Result<(), String> {
        let inner = Arc::clone(&self.inner);
        let mut spans = std::mem::take(batch);
        let (done, result) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let outcome = inner.export(&spans).await;
            // The list comes back empty, its room kept for the next batch.
            spans.clear();
            let _ = done.send((outcome, spans));
        });
        match result.recv() {
            Ok((outcome, spans)) => {
                *batch = spans;
                outcome.map_err(|error| error.to_string())
            }
            Err(_) => Err("the export runtime stopped".into()),
        }
    }

    fn shutdown(&mut self) {
        self.inner.shutdown();
        // The export thread ends with the exporter's shutdown, not when the last
        // handle on the queue happens to drop.
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partial_success;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    use prost::Message as _;

    fn answer(rejected_spans: i64, error_message: &str) -> Vec<u8> {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans,
                error_message: error_message.to_owned(),
            }),
        }
        .encode_to_vec()
    }

    #[test]
    fn partial_success_is_read() {
        assert_eq!(
            partial_success(&answer(2, "bad\nspan id")),
            Some((2, "badspan id".to_owned()))
        );
        let long = "x".repeat(500);
        assert_eq!(partial_success(&answer(1, &long)).unwrap().1.len(), 200);
        // Nothing rejected, a negative count, an empty or unreadable answer.
        assert_eq!(partial_success(&answer(0, "warning only")), None);
        assert_eq!(partial_success(&answer(-3, "")), None);
        assert_eq!(partial_success(&[]), None);
        assert_eq!(partial_success(&[0x0A, 0x7F]), None);
        let full = ExportTraceServiceResponse::default().encode_to_vec();
        assert_eq!(partial_success(&full), None);
    }
}
