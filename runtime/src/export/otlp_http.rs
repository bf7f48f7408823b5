//! OTLP over HTTP/protobuf (feature `otlp-http`): the request's bytes written
//! straight from the spans (`pipeline::encoder`), gzipped when asked, posted with
//! hyper over rustls.

use super::otlp::{Retries, error_chain, header_map, partial_success};
use crate::export::stats::Counters;
use crate::setup::error::InitError;
use crate::setup::otlp_settings::OtlpSettings;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use std::fmt;
use std::time::Duration;

/// The exporter `settings` describe.
pub(crate) fn exporter(
    settings: OtlpSettings,
    counters: Option<std::sync::Arc<Counters>>,
) -> Result<HttpExporter, InitError> {
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
        timeout: settings.timeout,
        counters,
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
    timeout: Duration,
    /// Where spans the collector rejects are counted.
    counters: Option<std::sync::Arc<Counters>>,
    shut_down: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for HttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpExporter").finish_non_exhaustive()
    }
}

impl HttpExporter {
    /// The request of an encoded `body`: gzipped when asked, with its headers.
    fn request(
        &self,
        mut body: Vec<u8>,
    ) -> Result<::http::Request<opentelemetry_http::Bytes>, OTelSdkError> {
        use ::http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
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

/// A `Retry-After` in seconds (the form collectors send).
fn retry_after(headers: &::http::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(::http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

impl HttpExporter {
    /// Posts an encoded request (of spans or metrics), retrying as OTLP
    /// exporters do.
    pub(crate) async fn export_encoded(&self, body: Vec<u8>) -> OTelSdkResult {
        use opentelemetry_http::HttpClient as _;
        if self.shut_down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let request = self.request(body)?;
        let mut retries = Retries::within(self.timeout);
        loop {
            // A request is cheap to copy: its body is shared.
            let mut attempt = ::http::Request::new(request.body().clone());
            *attempt.method_mut() = request.method().clone();
            *attempt.uri_mut() = request.uri().clone();
            *attempt.headers_mut() = request.headers().clone();
            let failure = match self.client.send_bytes(attempt).await {
                Ok(response) if response.status().is_success() => {
                    if let (Some((rejected, why)), Some(counters)) =
                        (partial_success(response.body()), &self.counters)
                    {
                        counters.rejected(rejected, &why);
                    }
                    return Ok(());
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let failure = format!("HTTP export failed with status code: {status}");
                    // 429, 502, 503, 504: the server or the way to it may be back.
                    if matches!(status, 429 | 502..=504)
                        && retries.wait(retry_after(response.headers())).await
                    {
                        continue;
                    }
                    failure
                }
                Err(error) => {
                    let failure = format!("HTTP export failed: {}", error_chain(&*error));
                    if retries.wait(None).await {
                        continue;
                    }
                    failure
                }
            };
            return Err(OTelSdkError::InternalFailure(failure));
        }
    }

    pub(crate) fn shutdown(&self) {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::otlp_settings::OtlpProtocol;
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::sync::{Arc, Mutex};

    /// A collector on loopback answering with `answers`, in order (200 once
    /// they are used up); returns its endpoint and the statuses it sent.
    fn collector(answers: Vec<u16>) -> (String, Arc<Mutex<Vec<u16>>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sent);
        std::thread::spawn(move || {
            let mut answers = answers.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                // Requests on one kept-alive connection, until it closes.
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    if line != "\r\n" {
                        break;
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let status = answers.next().unwrap_or(200);
                    seen.lock().unwrap().push(status);
                    let retry = if status == 503 {
                        "Retry-After: 0\r\n"
                    } else {
                        ""
                    };
                    write!(
                        writer,
                        "HTTP/1.1 {status} X\r\n{retry}Content-Length: 0\r\n\r\n"
                    )
                    .unwrap();
                }
            }
        });
        (endpoint, sent)
    }

    fn export_to(endpoint: String) -> OTelSdkResult {
        let settings = OtlpSettings {
            signal: crate::setup::otlp_settings::Signal::Traces,
            protocol: OtlpProtocol::HttpProtobuf,
            endpoint,
            endpoint_source: "code",
            https_assumed: false,
            headers: Vec::new(),
            gzip: false,
            timeout: Duration::from_secs(10),
            certificate: None,
            client_identity: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let exporter = crate::export::otlp::build(settings, None).unwrap();
            exporter
                .export(&crate::pipeline::encoder::tests::queued())
                .await
        })
    }

    #[test]
    fn a_transient_failure_is_retried() {
        let (endpoint, sent) = collector(vec![503, 502]);
        assert!(export_to(endpoint).is_ok());
        assert_eq!(*sent.lock().unwrap(), [503, 502, 200]);
    }

    #[test]
    fn a_refusal_is_not_retried() {
        let (endpoint, sent) = collector(vec![400]);
        let error = export_to(endpoint).unwrap_err().to_string();
        assert!(error.contains("400"), "{error}");
        assert_eq!(*sent.lock().unwrap(), [400]);
    }

    #[test]
    fn retries_stop_after_three() {
        let (endpoint, sent) = collector(vec![503; 10]);
        assert!(export_to(endpoint).is_err());
        assert_eq!(
            sent.lock().unwrap().len(),
            4,
            "one attempt and three retries"
        );
    }
}
