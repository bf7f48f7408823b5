//! OTLP export (features `otlp-grpc`, `otlp-http`). The exporters need a Tokio
//! reactor, while the SDK's batch processor exports from a plain thread and
//! `init()` may run in a sync `main` or inside a Tokio runtime: so each exporter
//! lives on a small runtime of its own, driven by a dedicated thread, and the batch
//! thread hands it work. A dead or hung collector then never blocks the
//! application: the batch queue fills and drops, and shutdown is bounded.

use crate::setup::error::InitError;
use crate::setup::otlp::{OtlpProtocol, OtlpSettings};
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

/// The exporter of one transport: gRPC through opentelemetry-otlp, HTTP/protobuf
/// spanwright's own (the request encoded straight from the spans).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per installation, never moved after
pub(crate) enum Otlp {
    #[cfg(feature = "otlp-grpc")]
    Grpc(opentelemetry_otlp::SpanExporter),
    #[cfg(feature = "otlp-http")]
    Http(HttpExporter),
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
        OtlpProtocol::Grpc => grpc(settings)?
            .map(Otlp::Grpc)
            .map_err(|error| InitError::Exporter(error.to_string())),
        #[cfg(feature = "otlp-http")]
        OtlpProtocol::HttpProtobuf => http(settings).map(Otlp::Http),
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

#[cfg(feature = "otlp-grpc")]
fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

#[cfg(feature = "otlp-grpc")]
fn grpc(
    settings: OtlpSettings,
) -> Result<
    Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError>,
    InitError,
> {
    use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
    use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(settings.endpoint.clone())
        .with_timeout(settings.timeout);
    if is_https(&settings.endpoint) {
        // The public roots (Mozilla's, built in: no dependency on the host's
        // store), plus the CA the environment names.
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        #[cfg(feature = "tls-native-roots")]
        {
            // The operating system's store too (corporate CAs).
            tls = tls.with_native_roots();
        }
        if let Some(ca) = &settings.certificate {
            tls = tls.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &settings.client_identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        builder = builder.with_tls_config(tls);
    }
    // The exporter also reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS itself, with its
    // own parser, and adds what it finds: this interceptor runs after that and
    // leaves exactly the headers spanwright parsed and validated.
    let ours = header_map(&settings.headers);
    builder = builder.with_interceptor(move |mut request: tonic::Request<()>| {
        *request.metadata_mut() = MetadataMap::from_headers(ours.clone());
        Ok(request)
    });
    if settings.gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder.build())
}

#[cfg(feature = "otlp-http")]
pub(super) fn http(settings: OtlpSettings) -> Result<HttpExporter, InitError> {
    let client = OurHeaders {
        inner: opentelemetry_http::hyper::HyperClient::new(
            https_connector(&settings)?,
            settings.timeout,
            None,
        ),
        headers: header_map(&settings.headers),
    };
    let endpoint = settings
        .endpoint
        .parse()
        .map_err(|e: ::http::uri::InvalidUri| InitError::Exporter(e.to_string()))?;
    Ok(HttpExporter {
        client,
        endpoint,
        gzip: settings.gzip,
        resource: Resource::builder_empty().build(),
        shut_down: std::sync::atomic::AtomicBool::new(false),
    })
}

#[cfg(feature = "otlp-http")]
type HyperClient = opentelemetry_http::hyper::HyperClient<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

/// OTLP over HTTP/protobuf: the request's bytes are written straight from the
/// spans (`pipeline::encoder`), gzipped when asked, and posted.
#[cfg(feature = "otlp-http")]
pub(crate) struct HttpExporter {
    client: OurHeaders<HyperClient>,
    endpoint: ::http::Uri,
    gzip: bool,
    resource: Resource,
    shut_down: std::sync::atomic::AtomicBool,
}

#[cfg(feature = "otlp-http")]
impl fmt::Debug for HttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpExporter").finish_non_exhaustive()
    }
}

#[cfg(feature = "otlp-http")]
impl HttpExporter {
    /// The request for `batch`: body, and its content encoding.
    fn request(
        &self,
        batch: &[SpanData],
    ) -> Result<::http::Request<opentelemetry_http::Bytes>, OTelSdkError> {
        use ::http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
        let mut body = Vec::with_capacity(256 * batch.len());
        crate::pipeline::encoder::export_request(&mut body, &self.resource, batch);
        let mut request = ::http::Request::post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(
                USER_AGENT,
                concat!("spanwright/", env!("CARGO_PKG_VERSION")),
            );
        if self.gzip {
            use std::io::Write as _;
            let mut zipped = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::default(),
            );
            zipped
                .write_all(&body)
                .map_err(|e| OTelSdkError::InternalFailure(format!("gzip: {e}")))?;
            body = zipped
                .finish()
                .map_err(|e| OTelSdkError::InternalFailure(format!("gzip: {e}")))?;
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        request
            .body(body.into())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}

#[cfg(feature = "otlp-http")]
impl SpanExporter for HttpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        use opentelemetry_http::HttpClient as _;
        if self.shut_down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let request = self.request(&batch)?;
        drop(batch);
        let response = self.client.send_bytes(request).await.map_err(|e| {
            OTelSdkError::InternalFailure(format!("HTTP export failed: {}", error_chain(&*e)))
        })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "HTTP export failed with status code: {}",
                response.status().as_u16()
            )))
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self
            .shut_down
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

/// An error and its causes, for the one line that reports a failed export.
#[cfg(feature = "otlp-http")]
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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

/// The headers spanwright parsed and validated, as a header map.
fn header_map(headers: &[(String, String)]) -> ::http::HeaderMap {
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

/// The HTTP client, sending exactly the headers spanwright parsed: the exporter
/// also reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS itself, with its own parser,
/// and adds what it finds; here only the protocol's own headers are kept
/// from its request, then spanwright's are set.
#[cfg(feature = "otlp-http")]
#[derive(Debug)]
struct OurHeaders<C> {
    inner: C,
    headers: ::http::HeaderMap,
}

#[cfg(feature = "otlp-http")]
impl<C: opentelemetry_http::HttpClient> opentelemetry_http::HttpClient for OurHeaders<C> {
    fn send_bytes<'client, 'call>(
        &'client self,
        mut request: ::http::Request<opentelemetry_http::Bytes>,
    ) -> std::pin::Pin<
        Box<
            dyn Future<
                    Output = Result<
                        ::http::Response<opentelemetry_http::Bytes>,
                        opentelemetry_http::HttpError,
                    >,
                > + Send
                + 'call,
        >,
    >
    where
        'client: 'call,
        Self: 'call,
    {
        use ::http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
        let sent = std::mem::take(request.headers_mut());
        let headers = request.headers_mut();
        for name in [CONTENT_TYPE, CONTENT_ENCODING, USER_AGENT] {
            if let Some(value) = sent.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        self.inner.send_bytes(request)
    }
}

/// rustls with ring, the public roots plus the configured CA, and the client
/// identity for mutual TLS; plain `http://` endpoints pass through.
#[cfg(feature = "otlp-http")]
fn https_connector(
    settings: &OtlpSettings,
) -> Result<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    InitError,
> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let unreadable = |variable: &'static str, error: String| InitError::InvalidVariable {
        variable,
        value: String::new(),
        accepted: format!("a PEM file rustls can read ({error})"),
    };
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    #[cfg(feature = "tls-native-roots")]
    {
        // The operating system's store too (corporate CAs); certificates it
        // cannot read are skipped, as rustls-native-certs reports them.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    if let Some(ca) = &settings.certificate {
        for cert in CertificateDer::pem_slice_iter(ca) {
            let cert =
                cert.map_err(|e| unreadable("OTEL_EXPORTER_OTLP_CERTIFICATE", e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| unreadable("OTEL_EXPORTER_OTLP_CERTIFICATE", e.to_string()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InitError::Exporter(e.to_string()))?
        .with_root_certificates(roots);
    let config = match &settings.client_identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreadable("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", e.to_string()))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| unreadable("OTEL_EXPORTER_OTLP_CLIENT_KEY", e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| unreadable("OTEL_EXPORTER_OTLP_CLIENT_KEY", e.to_string()))?
        }
    };
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build())
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
