//! `spanwright::http::ClientMiddleware`: a reqwest client through
//! reqwest-middleware against a real axum server traced by `ServerLayer` on
//! loopback. A 200, a 404 (a client span's failure, not the server's), a refused
//! connection (status Error, `error.type`, an `exception` event), secrets kept
//! out of `url.full`, and the client span as the server span's parent.

use axum::Router;
use axum::routing::get;
use reqwest_middleware::ClientBuilder;
use spanwright::http::{ClientMiddleware, ServerLayer};
use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::{SpanKind, Status};
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::SpanDataExt;

async fn item() -> &'static str {
    "item"
}

/// A call from an annotated function. The request is built with
/// `Request::new`, which keeps a URL's user name and password in the URL
/// (reqwest's builder would move them to an `Authorization` header first).
#[spanwright::span]
async fn fetch(client: &reqwest_middleware::ClientWithMiddleware, url: String) -> u16 {
    let request = reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap());
    match client.execute(request).await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

fn text(value: &str) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::from(value.to_owned()))))
}

fn int(value: i64) -> Option<&'static Value> {
    Some(Box::leak(Box::new(Value::I64(value))))
}

fn no_code_attributes(span: &SpanData) {
    assert!(
        span.attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("code.")),
        "{:?}",
        span.attributes
    );
}

#[test]
fn reqwest_calls_through_the_middleware() {
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/items/{id}", get(item))
        .layer(ServerLayer::new());
    runtime.spawn(async move { axum::serve(listener, app).await });
    // A port nothing listens on: bound, then closed.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let client = ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    let ok = runtime.block_on(fetch(
        &client,
        format!("http://user:hunter2@{addr}/items/7?token=s3cret&page=2"),
    ));
    assert_eq!(ok, 200);
    let not_found = runtime.block_on(fetch(&client, format!("http://{addr}/nowhere")));
    assert_eq!(not_found, 404);
    let failed = runtime.block_on(fetch(
        &client,
        format!("http://admin:hunter2@{refused}/items/1?api_key=s3cret"),
    ));
    assert_eq!(failed, 0);
    telemetry.flush();
    let spans = kept.spans();
    let of_kind = |kind: SpanKind| -> Vec<&SpanData> {
        spans.iter().filter(|s| s.span_kind == kind).collect()
    };
    let (clients, servers, callers) = (
        of_kind(SpanKind::Client),
        of_kind(SpanKind::Server),
        of_kind(SpanKind::Internal),
    );
    assert_eq!(
        (clients.len(), servers.len(), callers.len()),
        (3, 2, 3),
        "{spans:#?}"
    );

    // 200: annotated > client > server, one trace.
    let (caller, client, server) = (callers[0], clients[0], servers[0]);
    assert_eq!(client.name, "GET");
    assert_eq!(client.parent_span_id, caller.span_context.span_id());
    assert_eq!(server.name, "GET /items/{id}");
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(
        server.span_context.trace_id(),
        caller.span_context.trace_id()
    );
    assert_eq!(client.attr("http.request.method"), text("GET"));
    assert_eq!(client.attr("http.response.status_code"), int(200));
    assert_eq!(client.attr("server.address"), text("127.0.0.1"));
    assert_eq!(client.attr("server.port"), int(i64::from(addr.port())));
    // No credentials, no secret query value.
    assert_eq!(
        client.attr("url.full"),
        text(&format!(
            "http://REDACTED:REDACTED@{addr}/items/7?token=REDACTED&page=2"
        ))
    );
    assert_eq!(client.status, Status::Unset);
    no_code_attributes(client);

    // 404: the client's failure, not the server's.
    let (client, server) = (clients[1], servers[1]);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(client.attr("http.response.status_code"), int(404));
    assert_eq!(client.attr("error.type"), text("404"));
    assert!(matches!(client.status, Status::Error { .. }), "{client:#?}");
    assert!(client.events.is_empty(), "a status is not an exception");
    assert_eq!(server.status, Status::Unset);

    // Refused: no response, an error with its exception event.
    let client = clients[2];
    assert_eq!(client.parent_span_id, callers[2].span_context.span_id());
    assert_eq!(client.attr("http.response.status_code"), None);
    assert_eq!(client.attr("error.type"), text("connect"));
    let Status::Error { description } = &client.status else {
        panic!("status Error: {client:#?}")
    };
    assert!(
        description.to_lowercase().contains("refused"),
        "the cause is in the description: {description}"
    );
    let exception = client.event("exception").expect("an exception event");
    assert_eq!(exception.attr("exception.type"), text("connect"));
    // The error's own text names the URL: as url.full does.
    let message = format!("{:?}", exception.attr("exception.message"));
    for secret in ["hunter2", "s3cret"] {
        assert!(!description.contains(secret), "{description}");
        assert!(!message.contains(secret), "{message}");
    }
    assert!(message.contains("REDACTED"), "{message}");
}
