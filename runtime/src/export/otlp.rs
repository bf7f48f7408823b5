//! OTLP export (features `otlp-grpc`, `otlp-http`). The exporters need a Tokio
//! reactor, while the SDK's batch processor exports from a plain thread and
//! `init()` may run in a sync `main` or inside a Tokio runtime: so each exporter
//! lives on a small runtime of its own, driven by a dedicated thread, and the batch
//! thread hands it work. A dead or hung collector then never blocks the
//! application: the batch queue fills and drops, and shutdown is bounded.

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The OTLP transport, from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or
/// `OTEL_EXPORTER_OTLP_PROTOCOL` (default `http/protobuf`), or set in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC, usually port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, usually port 4318.
    HttpProtobuf,
}

impl OtlpProtocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The protocol the environment asks for, and the variable that said so.
    pub(crate) fn from_env() -> Result<(Self, &'static str), InitError> {
        for variable in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(value) = env_var(variable) {
                let protocol = match value.as_str() {
                    "grpc" => OtlpProtocol::Grpc,
                    "http/protobuf" => OtlpProtocol::HttpProtobuf,
                    _ => {
                        return Err(InitError::InvalidVariable {
                            variable,
                            value,
                            accepted: "grpc or http/protobuf".into(),
                        });
                    }
                };
                return Ok((protocol, variable));
            }
        }
        Ok((OtlpProtocol::HttpProtobuf, "default"))
    }
}

/// Builds the OTLP exporter for `protocol`. `endpoint` (set in code) wins over the
/// `OTEL_EXPORTER_OTLP_*ENDPOINT` variables; the exporter reads the timeout,
/// headers and compression variables itself.
pub(crate) fn exporter(
    protocol: OtlpProtocol,
    endpoint: Option<String>,
) -> Result<OnOwnRuntime<opentelemetry_otlp::SpanExporter>, InitError> {
    OnOwnRuntime::start(move || build(protocol, endpoint))
}

fn build(
    protocol: OtlpProtocol,
    endpoint: Option<String>,
) -> Result<opentelemetry_otlp::SpanExporter, InitError> {
    let built = match protocol {
        #[cfg(feature = "otlp-grpc")]
        OtlpProtocol::Grpc => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
            if let Some(endpoint) = endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            builder.build()
        }
        #[cfg(feature = "otlp-http")]
        OtlpProtocol::HttpProtobuf => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
            if let Some(endpoint) = endpoint {
                builder = builder.with_endpoint(http_traces_url(&endpoint));
            }
            builder.build()
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(InitError::Unsupported {
                what: format!("OTLP over {}", other.name()),
                feature: if other == OtlpProtocol::Grpc {
                    "otlp-grpc"
                } else {
                    "otlp-http"
                },
            });
        }
    };
    built.map_err(|error| InitError::Exporter(error.to_string()))
}

/// Where spans will go, for [`crate::Telemetry::describe`]: the same order of
/// precedence the exporter applies.
pub(crate) fn describe_endpoint(protocol: OtlpProtocol, endpoint: Option<&str>) -> String {
    let http = protocol == OtlpProtocol::HttpProtobuf;
    if let Some(endpoint) = endpoint {
        return if http {
            http_traces_url(endpoint)
        } else {
            endpoint.to_owned()
        };
    }
    if let Some(endpoint) = env_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return endpoint;
    }
    match (env_var("OTEL_EXPORTER_OTLP_ENDPOINT"), http) {
        (Some(base), true) => format!("{}/v1/traces", base.trim_end_matches('/')),
        (Some(base), false) => base,
        (None, true) => "http://localhost:4318/v1/traces".into(),
        (None, false) => "http://localhost:4317".into(),
    }
}

/// A base URL given in code gets the traces path, as the generic variable does.
fn http_traces_url(endpoint: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let has_path = trimmed
        .split("://")
        .nth(1)
        .is_some_and(|rest| rest.contains('/'));
    if has_path {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    }
}

/// An exporter whose futures run on a runtime owned by a thread of its own.
pub(crate) struct OnOwnRuntime<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
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
            stop: Some(stop),
        })
    }
}

impl<E> Drop for OnOwnRuntime<E> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
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
        self.run_bounded(timeout, move |inner| inner.shutdown_with_timeout(timeout))
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

#[cfg(test)]
mod tests {
    use super::http_traces_url;

    #[test]
    fn http_endpoint_in_code_gets_the_traces_path() {
        assert_eq!(
            http_traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            http_traces_url("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            http_traces_url("http://c:4318/custom/v1/traces"),
            "http://c:4318/custom/v1/traces"
        );
    }
}
