//! gRPC on a real tonic server and client on loopback (the `grpc.health.v1.Health`
//! service of tonic-health: no code generation at build time). `ServerLayer` on
//! the server makes RPC server spans, `ClientLayer` on the client's `Channel`
//! RPC client spans, and an annotated caller, the client call and the server's
//! handling make one trace.

use spanwright::http::{ClientLayer, ServerLayer};
use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::{SpanKind, Status};
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::SpanDataExt;
use std::net::SocketAddr;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower_layer::Layer as _;

const HEALTH_CHECK: &str = "grpc.health.v1.Health/Check";
const MISSING: &str = "grpc.health.v1.Health/Missing";

/// A health server for one service, `jobs.Jobs`, traced by `ServerLayer`.
async fn serve() -> SocketAddr {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("jobs.Jobs", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .layer(ServerLayer::new())
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

async fn channel(addr: SocketAddr) -> (Channel, http::Uri) {
    let origin: http::Uri = format!("http://{addr}").parse().unwrap();
    let channel = Endpoint::from(origin.clone()).connect().await.unwrap();
    (channel, origin)
}

/// The health of `service`, asked through a traced channel.
#[spanwright::span(attrs(service))]
async fn check(addr: SocketAddr, service: &str) -> Result<i32, tonic::Status> {
    let (channel, origin) = channel(addr).await;
    let mut client = HealthClient::with_origin(ClientLayer::new().layer(channel), origin);
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    Ok(client.check(request).await?.into_inner().status)
}

/// A method the server does not have.
#[spanwright::span]
async fn call_missing(addr: SocketAddr) -> Result<HealthCheckResponse, tonic::Status> {
    let (channel, origin) = channel(addr).await;
    let mut grpc = tonic::client::Grpc::with_origin(ClientLayer::new().layer(channel), origin);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Missing");
    let request = tonic::Request::new(HealthCheckRequest::default());
    Ok(grpc.unary(request, path, codec).await?.into_inner())
}

fn int(value: i64) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::I64(value))))
}

fn text(value: &str) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::from(value.to_owned()))))
}

/// The one span of `trace` named `name` of `kind`.
fn find<'a>(spans: &'a [SpanData], parent: &SpanData, name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| {
            s.name == name
                && s.span_kind == kind
                && s.span_context.trace_id() == parent.span_context.trace_id()
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} span {name:?} in the trace: {spans:#?}"
    );
    found[0]
}

fn assert_rpc(span: &SpanData, method: &str) {
    assert_eq!(span.attr("rpc.system"), text("grpc"));
    assert_eq!(span.attr("rpc.service"), text("grpc.health.v1.Health"));
    assert_eq!(span.attr("rpc.method"), text(method));
    assert!(
        span.attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("code.")),
        "no code.* attributes on a layer's span: {:?}",
        span.attributes
    );
    assert!(
        span.events.is_empty(),
        "a status is not an exception: {:?}",
        span.events
    );
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

#[test]
fn rpc_spans_on_a_tonic_server_and_client() {
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime.block_on(serve());

    let serving = runtime.block_on(check(addr, "jobs.Jobs"));
    let serving_code = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    assert_eq!(serving.unwrap(), serving_code);
    let unknown = runtime.block_on(check(addr, "nope.Nope"));
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);
    let missing = runtime.block_on(call_missing(addr));
    assert_eq!(missing.unwrap_err().code(), tonic::Code::Unimplemented);
    telemetry.flush();
    let spans = kept.spans();

    let callers: Vec<&SpanData> = spans.iter().filter(|s| s.name == "check").collect();
    assert_eq!(callers.len(), 2, "{spans:#?}");
    let ok_caller = callers
        .iter()
        .find(|s| s.attr("service") == text("jobs.Jobs"))
        .unwrap();
    let not_found_caller = callers
        .iter()
        .find(|s| s.attr("service") == text("nope.Nope"))
        .unwrap();

    // OK: annotated > client > server, one trace; Unset on both sides.
    let client = find(&spans, ok_caller, HEALTH_CHECK, SpanKind::Client);
    let server = find(&spans, ok_caller, HEALTH_CHECK, SpanKind::Server);
    assert_eq!(client.parent_span_id, ok_caller.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    for span in [client, server] {
        assert_rpc(span, "Check");
        // OK comes in the trailers: the spans ended after them.
        assert_eq!(span.attr("rpc.grpc.status_code"), int(0));
        assert_eq!(span.status, Status::Unset);
    }
    assert_eq!(client.attr("server.address"), text("127.0.0.1"));
    assert_eq!(client.attr("server.port"), int(i64::from(addr.port())));
    assert!(server.end_time >= client.start_time && server.end_time <= client.end_time);

    // NOT_FOUND: the caller's business on the server (Unset), a failure for the client.
    let client = find(&spans, not_found_caller, HEALTH_CHECK, SpanKind::Client);
    let server = find(&spans, not_found_caller, HEALTH_CHECK, SpanKind::Server);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(server.attr("rpc.grpc.status_code"), int(5));
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.attr("error.type"), None);
    assert_eq!(client.attr("rpc.grpc.status_code"), int(5));
    assert!(is_error(client), "{client:#?}");
    assert_eq!(client.attr("error.type"), text("NOT_FOUND"));
    assert_rpc(client, "Check");
    assert_rpc(server, "Check");

    // UNIMPLEMENTED: a server error, on both sides.
    let caller = spans.iter().find(|s| s.name == "call_missing").unwrap();
    let client = find(&spans, caller, MISSING, SpanKind::Client);
    let server = find(&spans, caller, MISSING, SpanKind::Server);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    for span in [client, server] {
        assert_rpc(span, "Missing");
        assert_eq!(span.attr("rpc.grpc.status_code"), int(12));
        assert!(is_error(span), "{span:#?}");
        assert_eq!(span.attr("error.type"), text("UNIMPLEMENTED"));
    }
}
