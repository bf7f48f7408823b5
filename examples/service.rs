//! A real service, end to end: an axum API puts jobs on a Redis Stream with the
//! trace context in the entry's fields; a worker reads them with
//! `#[traced_job(parent = ..)]` and calls a second axum app, "storage", with
//! reqwest through `http::ClientMiddleware` (a client span, the context in the
//! request's headers); storage's `ServerLayer` continues the trace, and a
//! `tracing` span inside its handler (what a library would emit) joins it
//! through `spanwright::tracing_layer()`. One trace per job, from the first HTTP
//! request to the storage call:
//!
//! ```text
//! POST /jobs (server) -> jobs publish (producer) -> jobs process (consumer)
//!   -> storage put -> PUT (client) -> PUT /objects/{key} (server) -> write_object (tracing)
//! ```
//!
//! `cargo run --example service` starts everything it needs (redis-server on a
//! free loopback port; Debian's `redis-server` package must be installed), sends
//! three jobs, draws each trace with the console exporter and stops. With
//! `OTEL_TRACES_EXPORTER` set, spans go where the `OTEL_*` environment says.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamReadOptions, StreamReadReply};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use spanwright::http::{ClientMiddleware, ServerLayer};
use spanwright::{span, traced_job};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;

const STREAM: &str = "jobs";
const OBJECTS: [&str; 3] = ["cat.jpg", "dog.jpg", "owl.jpg"];

// ---- the API ------------------------------------------------------------------

async fn create_job(
    State(redis): State<MultiplexedConnection>,
    object: String,
) -> (StatusCode, String) {
    match enqueue(redis, &object).await {
        Ok(id) => (StatusCode::ACCEPTED, id),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// Puts a job on the stream, with the current trace context among its fields.
#[span(
    name = "jobs publish",
    kind = producer,
    attrs(messaging.system = "redis", messaging.destination.name = "jobs", object)
)]
async fn enqueue(mut redis: MultiplexedConnection, object: &str) -> redis::RedisResult<String> {
    let mut fields: HashMap<String, String> = HashMap::new();
    spanwright::inject(&mut fields);
    fields.insert("object".into(), object.into());
    let fields: Vec<(String, String)> = fields.into_iter().collect();
    let id: String = redis.xadd(STREAM, "*", &fields).await?;
    spanwright::current().set_attribute("messaging.message.id", id.clone());
    Ok(id)
}

// ---- the worker ---------------------------------------------------------------

/// Reads jobs until `jobs` have been handled.
async fn worker(
    mut redis: MultiplexedConnection,
    storage: String,
    jobs: usize,
) -> redis::RedisResult<()> {
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    let options = StreamReadOptions::default().block(500).count(16);
    let (mut last, mut handled) = ("0".to_owned(), 0);
    while handled < jobs {
        let reply: StreamReadReply = redis.xread_options(&[STREAM], &[&last], &options).await?;
        for entry in reply.keys.into_iter().flat_map(|key| key.ids) {
            last.clone_from(&entry.id);
            let fields: HashMap<String, String> = entry
                .map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), redis::from_redis_value_ref(v).ok()?)))
                .collect();
            if let Err(error) = process(&entry.id, &fields, &client, &storage).await {
                eprintln!("job {} failed: {error}", entry.id);
            }
            handled += 1;
        }
    }
    Ok(())
}

/// One job: continues the producer's trace from the entry's fields.
#[traced_job(
    name = "jobs process",
    parent = fields,
    id = id,
    attrs(messaging.system = "redis", messaging.destination.name = "jobs")
)]
async fn process(
    id: &str,
    fields: &HashMap<String, String>,
    client: &ClientWithMiddleware,
    storage: &str,
) -> Result<(), reqwest_middleware::Error> {
    let object = fields.get("object").map_or("unknown", String::as_str);
    let thumbnail = format!("thumbnail of {object}");
    store(client, storage, object, thumbnail).await
}

/// The call to storage: the middleware makes its client span and puts the
/// trace context in the request's headers.
#[span(name = "storage put", attrs(object.key = key))]
async fn store(
    client: &ClientWithMiddleware,
    base: &str,
    key: &str,
    body: String,
) -> Result<(), reqwest_middleware::Error> {
    let response = client
        .put(format!("{base}/objects/{key}"))
        .body(body)
        .send()
        .await?;
    response.error_for_status().map(drop).map_err(Into::into)
}

// ---- storage ------------------------------------------------------------------

async fn put_object(
    State(stored): State<mpsc::UnboundedSender<String>>,
    Path(key): Path<String>,
    body: String,
) -> StatusCode {
    write_object(&key, body.len());
    let _ = stored.send(key);
    StatusCode::CREATED
}

/// What a storage library does: a `tracing` span, not a spanwright one.
#[tracing::instrument]
fn write_object(key: &str, bytes: usize) {
    tracing::debug!("written");
}

// ---- running it all -----------------------------------------------------------

/// redis-server on a free loopback port, stopped when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Result<Self, String> {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| {
                format!(
                    "the service example needs redis-server ({error}): install Debian's \
                     `redis-server` package (apt-get install redis-server)"
                )
            })?;
        Ok(RedisServer { child, port })
    }

    async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .map_err(|error| error.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match client.get_multiplexed_async_connection().await {
                Ok(connection) => return Ok(connection),
                Err(error) if Instant::now() > deadline => {
                    return Err(format!(
                        "redis-server did not start on port {}: {error}",
                        self.port
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_or(0, |addr| addr.port())
}

async fn serve(router: Router) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| error.to_string())?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((addr, task))
}

/// Starts redis-server, the API, storage and the worker; posts one job per
/// object; returns the keys storage received once every job has reached it.
async fn run(objects: &[&str]) -> Result<Vec<String>, String> {
    let redis = RedisServer::start()?;
    let api_redis = redis.connect().await?;
    let worker_redis = redis.connect().await?; // its own: XREAD blocks the connection

    let (stored_tx, mut stored_rx) = mpsc::unbounded_channel();
    let storage = Router::new()
        .route("/objects/{key}", put(put_object))
        .with_state(stored_tx)
        .layer(ServerLayer::new());
    let (storage_addr, storage_task) = serve(storage).await?;

    let api = Router::new()
        .route("/jobs", post(create_job))
        .with_state(api_redis)
        .layer(ServerLayer::new());
    let (api_addr, api_task) = serve(api).await?;

    let worker_task = tokio::spawn(worker(
        worker_redis,
        format!("http://{storage_addr}"),
        objects.len(),
    ));

    let client = reqwest::Client::new();
    for object in objects {
        let response = client
            .post(format!("http://{api_addr}/jobs"))
            .body(object.to_string())
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(format!("POST /jobs answered {}", response.status()));
        }
    }

    let mut stored = Vec::new();
    while stored.len() < objects.len() {
        match tokio::time::timeout(Duration::from_secs(20), stored_rx.recv()).await {
            Ok(Some(key)) => stored.push(key),
            _ => return Err(format!("storage received {stored:?} of {objects:?}")),
        }
    }
    let _ = worker_task.await;
    api_task.abort();
    storage_task.abort();
    drop(redis);
    Ok(stored)
}

fn main() -> ExitCode {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(spanwright::tracing_layer());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let telemetry = if std::env::var_os("OTEL_TRACES_EXPORTER").is_some() {
        spanwright::init()
    } else {
        spanwright::Telemetry::builder()
            .service_name("service")
            .console()
            .install()
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = runtime.block_on(run(&OBJECTS));
    drop(runtime);
    telemetry.shutdown();
    match outcome {
        Ok(stored) => {
            println!("storage received {stored:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanwright::opentelemetry::trace::{SpanId, SpanKind, Status};

    use spanwright::testing::SpanDataExt;

    /// The example as `cargo run --example service` runs it, exporting to memory
    /// instead of the console: one trace per job, in the documented shape.
    #[test]
    fn one_trace_per_job_from_the_api_request_to_the_storage_call() {
        if !spanwright_tests::services::redis() {
            return;
        }
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(spanwright::tracing_layer());
        tracing::subscriber::set_global_default(subscriber).unwrap();
        let kept = spanwright_tests::Kept::default();
        let telemetry = spanwright::Telemetry::builder()
            .exporter(kept.clone())
            .install()
            .unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut stored = runtime.block_on(run(&OBJECTS)).unwrap();
        drop(runtime);
        let stats = telemetry.shutdown();
        stored.sort();
        assert_eq!(stored, OBJECTS);

        let spans = kept.spans();
        assert_eq!(stats.spans_dropped, 0, "{stats:?}");
        assert_eq!(spans.len(), 7 * OBJECTS.len(), "{spans:#?}");
        let shape = [
            ("POST /jobs", SpanKind::Server),
            ("jobs publish", SpanKind::Producer),
            ("jobs process", SpanKind::Consumer),
            ("storage put", SpanKind::Internal),
            ("PUT", SpanKind::Client),
            ("PUT /objects/{key}", SpanKind::Server),
            ("write_object", SpanKind::Internal),
        ];
        let mut traces = Vec::new();
        for root in spans.iter().filter(|s| s.name == "POST /jobs") {
            assert_eq!(
                root.parent_span_id,
                SpanId::INVALID,
                "the API request starts the trace"
            );
            let trace = root.span_context.trace_id();
            assert!(!traces.contains(&trace), "one trace per job");
            traces.push(trace);
            let mut parent = root;
            for (name, kind) in &shape[1..] {
                let children: Vec<_> = spans
                    .iter()
                    .filter(|s| s.parent_span_id == parent.span_context.span_id())
                    .collect();
                assert_eq!(
                    children.len(),
                    1,
                    "{} has one child: {children:#?}",
                    parent.name
                );
                let child = children[0];
                assert_eq!((child.name.as_ref(), &child.span_kind), (*name, kind));
                assert_eq!(
                    child.span_context.trace_id(),
                    trace,
                    "{name} is in the same trace"
                );
                assert_eq!(child.status, Status::Unset, "{name}");
                parent = child;
            }
            let object = spans
                .iter()
                .find(|s| s.name == "jobs publish" && s.span_context.trace_id() == trace)
                .and_then(|s| s.attr("object"))
                .unwrap();
            assert_eq!(
                parent.attr("key"),
                Some(object),
                "storage wrote this job's object"
            );
        }
        assert_eq!(traces.len(), OBJECTS.len());
        let job = spans.iter().find(|s| s.name == "jobs process").unwrap();
        assert_eq!(job.attr("job.status"), Some(&"completed".into()));
    }
}
