//! OTLP over HTTP/protobuf (feature `otlp-http`): the request's bytes written
//! straight from the spans (`pipeline::encoder`), gzipped when asked, posted with
//! hyper over rustls.

use super::otlp::{error_chain, header_map};
use crate::setup::error::InitError;
use crate::setup::otlp_settings::OtlpSettings;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::fmt;
use std::time::Duration;

/// The exporter `settings` describe.
pub(crate) fn exporter(settings: OtlpSettings) -> Result<HttpExporter, InitError> {
    let client = HyperClient::new(https_connector(&settings)?, settings.timeout, None);
    let endpoint = settings
        .endpoint
        .parse()
        .map_err(|e: ::http::uri::InvalidUri| InitError::Exporter(e.to_string()))?;
    Ok(HttpExporter {
        client,
        headers: header_map(&settings.headers),
        endpoint,
        gzip: settings.gzip,
        resource: Resource::builder_empty().build(),
        shut_down: std::sync::atomic::AtomicBool::new(false),
    })
}

type HyperClient = opentelemetry_http::hyper::HyperClient<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

/// OTLP over HTTP/protobuf: the request's bytes are written straight from the
/// spans (`pipeline::encoder`), gzipped when asked, and posted.
pub(crate) struct HttpExporter {
    client: HyperClient,
    /// Exactly the headers spanwright parsed and validated.
    headers: ::http::HeaderMap,
    endpoint: ::http::Uri,
    gzip: bool,
    resource: Resource,
    shut_down: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for HttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpExporter").finish_non_exhaustive()
    }
}

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
        let mut request = request
            .body(body.into())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

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

/// rustls with ring, the public roots plus the configured CA, and the client
/// identity for mutual TLS; plain `http://` endpoints pass through.
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
