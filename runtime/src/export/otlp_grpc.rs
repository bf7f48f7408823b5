//! OTLP over gRPC (feature `otlp-grpc`): the `Export` call of the trace
//! service, its request's bytes written straight from the spans
//! (`pipeline::encoder`) and sent through tonic as they are, gzipped when asked,
//! over rustls when the endpoint is `https`.

use super::otlp::{Retries, error_chain, header_map, partial_success};
use crate::export::stats::Counters;
use crate::setup::error::InitError;
use crate::setup::otlp_settings::{OtlpSettings, Signal};
use bytes::{Buf as _, BufMut as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

const EXPORT_TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const EXPORT_METRICS: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// The exporter `settings` describe; it connects at its first export.
pub(crate) fn exporter(
    settings: OtlpSettings,
    counters: Option<Arc<Counters>>,
) -> Result<GrpcExporter, InitError> {
    let invalid = |error: tonic::transport::Error| InitError::Exporter(error_chain(&error));
    let mut endpoint = Endpoint::from_shared(settings.endpoint.clone())
        .map_err(invalid)?
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("spanwright/", env!("CARGO_PKG_VERSION")))
        .map_err(invalid)?;
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
        endpoint = endpoint.tls_config(tls).map_err(invalid)?;
    }
    Ok(GrpcExporter {
        export: match settings.signal {
            Signal::Traces => EXPORT_TRACES,
            Signal::Metrics => EXPORT_METRICS,
        },
        channel: endpoint.connect_lazy(),
        metadata: tonic::metadata::MetadataMap::from_headers(header_map(&settings.headers)),
        gzip: settings.gzip,
        timeout: settings.timeout,
        counters,
        shut_down: AtomicBool::new(false),
    })
}

fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// OTLP over gRPC.
pub(crate) struct GrpcExporter {
    /// The `Export` method of the signal's service.
    export: &'static str,
    channel: Channel,
    /// Exactly the headers spanwright parsed and validated.
    metadata: tonic::metadata::MetadataMap,
    gzip: bool,
    timeout: Duration,
    /// Where spans the collector rejects are counted.
    counters: Option<Arc<Counters>>,
    shut_down: AtomicBool,
}

impl fmt::Debug for GrpcExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcExporter").finish_non_exhaustive()
    }
}

impl GrpcExporter {
    /// Sends an encoded request (of spans or metrics), retrying as OTLP
    /// exporters do.
    pub(crate) async fn export_encoded(&self, body: Vec<u8>) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let body = bytes::Bytes::from(body);
        let mut retries = Retries::within(self.timeout);
        loop {
            let status = match self.send(body.clone()).await {
                Ok(answer) => {
                    if let (Some((rejected, why)), Some(counters)) =
                        (partial_success(&answer), &self.counters)
                    {
                        counters.rejected(rejected, &why);
                    }
                    return Ok(());
                }
                Err(status) => status,
            };
            if !retryable(status.code()) || !retries.wait(None).await {
                // The code and the local causes; not the server's message, which
                // may echo what the request carried (a token).
                let causes = std::error::Error::source(&status)
                    .map(|source| format!(": {}", error_chain(source)))
                    .unwrap_or_default();
                return Err(OTelSdkError::InternalFailure(format!(
                    "gRPC export failed with code {:?}{causes}",
                    status.code()
                )));
            }
        }
    }

    pub(crate) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Relaxed);
    }

    /// One attempt of the `Export` call.
    async fn send(&self, body: bytes::Bytes) -> Result<bytes::Bytes, tonic::Status> {
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        if self.gzip {
            // A gRPC server may answer a compressed request compressed
            // (grpc-go does): the client must accept what it sends. Not
            // otherwise: a server that compresses whatever the client accepts
            // (Rotel does) would make every export inflate its answer of a
            // few bytes (inflaters made and zeroed: some 160,000 instructions
            // a request).
            client = client
                .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        client
            .ready()
            .await
            .map_err(|e| tonic::Status::from_error(Box::new(e)))?;
        let mut request = tonic::Request::new(body);
        *request.metadata_mut() = self.metadata.clone();
        // Sent as `grpc-timeout`: the server knows the deadline too.
        request.set_timeout(self.timeout);
        client
            .unary(
                request,
                ::http::uri::PathAndQuery::from_static(self.export),
                EncodedRequest,
            )
            .await
            .map(tonic::Response::into_inner)
    }
}

/// The codes OTLP exporters retry: the server or the way to it may be back.
fn retryable(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unavailable | Cancelled | DeadlineExceeded | Aborted | OutOfRange | DataLoss
    )
}

/// The codec of the `Export` call: the request goes out as the bytes the
/// encoder wrote; the response (partial success, if any) comes back as bytes.
#[derive(Debug, Clone, Copy)]
struct EncodedRequest;

impl Codec for EncodedRequest {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = EncodedRequest;
    type Decoder = EncodedRequest;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedRequest
    }

    fn decoder(&mut self) -> Self::Decoder {
        EncodedRequest
    }
}

impl Encoder for EncodedRequest {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: bytes::Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for EncodedRequest {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<bytes::Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
