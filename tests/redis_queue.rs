//! The job pipeline over a real broker: a Redis Stream. Producers publish jobs with
//! the trace context in the entry's fields; a worker thread reads them through a
//! consumer group and handles each with `#[traced_job(parent = ..)]`.
//!
//! The test starts its own `redis-server` (Debian's `redis-server` package; the
//! test command installs it) on a free loopback port and stops it afterwards.

use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{Commands, Connection};
use spanwright::opentelemetry::Context;
use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::{SpanId, Status};
use spanwright::testing::{SpanDataExt, capture};
use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STREAM: &str = "jobs";
const GROUP: &str = "workers";
const JOBS: usize = 60;

struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs Debian's redis-server)");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.connect_once().is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn connect_once(&self) -> redis::RedisResult<Connection> {
        let mut connection =
            redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()?;
        redis::cmd("PING").query::<String>(&mut connection)?;
        Ok(connection)
    }

    fn connect(&self) -> Connection {
        self.connect_once().expect("connect to redis")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the producer dresses each job's trace context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Header {
    Valid,
    Malformed,
    Missing,
}

fn header_for(job: usize) -> Header {
    match job % 12 {
        5 => Header::Malformed,
        11 => Header::Missing,
        _ => Header::Valid,
    }
}

#[derive(Debug)]
struct Rejected(usize);
impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {} rejected by the model server", self.0)
    }
}

#[spanwright::span(name = "POST /jobs", kind = server, attrs(job))]
fn api(connection: &mut Connection, job: usize) -> String {
    publish(connection, job)
}

/// Returns the span id that went into the message (empty if none did).
#[spanwright::span(name = "jobs publish", kind = producer, attrs(messaging.system = "redis", job))]
fn publish(connection: &mut Connection, job: usize) -> String {
    let mut fields: HashMap<String, String> = HashMap::new();
    match header_for(job) {
        Header::Valid => spanwright::inject(&mut fields),
        Header::Malformed => {
            fields.insert("traceparent".into(), "00-not-a-trace-context-01".into());
        }
        Header::Missing => {}
    }
    fields.insert("job.id".into(), job.to_string());
    let mut pairs: Vec<(&String, &String)> = fields.iter().collect();
    pairs.sort();
    let _: String = connection.xadd(STREAM, "*", &pairs).unwrap();
    spanwright::current().span_id().unwrap()
}

#[spanwright::traced_job(
    name = "jobs process",
    parent = fields,
    id = job,
    attrs(messaging.system = "redis", messaging.destination.name = "jobs")
)]
fn process(fields: &HashMap<String, String>, job: usize) -> Result<(), Rejected> {
    store(job);
    match job % 10 {
        3 => Err(Rejected(job)),
        7 => panic!("corrupt payload in job {job}"),
        _ => Ok(()),
    }
}

#[spanwright::span(name = "storage.upload", kind = client)]
fn store(_job: usize) {}

fn fields_of(map: &HashMap<String, redis::Value>) -> HashMap<String, String> {
    map.iter()
        .filter_map(|(k, v)| {
            redis::from_redis_value_ref::<String>(v)
                .ok()
                .map(|s| (k.clone(), s))
        })
        .collect()
}

/// Consumes until `expected` jobs were handled; returns how many were acked.
fn worker(mut connection: Connection, expected: usize) -> usize {
    let options = StreamReadOptions::default()
        .group(GROUP, "w1")
        .count(16)
        .block(200);
    let mut handled = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while handled < expected {
        assert!(
            Instant::now() < deadline,
            "worker timed out after {handled} jobs"
        );
        let reply: Option<StreamReadReply> = connection
            .xread_options(&[STREAM], &[">"], &options)
            .unwrap();
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            let fields = fields_of(&entry.map);
            let job: usize = fields["job.id"].parse().unwrap();
            // A panicking job must not take the worker down.
            let _ = std::panic::catch_unwind(|| process(&fields, job));
            let _: usize = connection.xack(STREAM, GROUP, &[&entry.id]).unwrap();
            handled += 1;
        }
    }
    handled
}

#[test]
fn traces_cross_a_redis_stream_unbroken() {
    if !spanwright_tests::services::redis() {
        return;
    }
    let server = RedisServer::start();
    let mut producer = server.connect();
    let _: () = producer.xgroup_create_mkstream(STREAM, GROUP, "$").unwrap();
    let consumer = server.connect();

    let ((published, acked), spans) = capture(|| {
        // The worker thread carries the capture's context.
        let cx = Context::current();
        let worker = std::thread::spawn(move || {
            let _attached = cx.attach();
            worker(consumer, JOBS)
        });
        let published: Vec<String> = (0..JOBS).map(|job| api(&mut producer, job)).collect();
        (published, worker.join().unwrap())
    });

    let jobs: Vec<_> = spans.all_named("jobs process").collect();
    let apis: Vec<_> = spans.all_named("POST /jobs").collect();
    let mut broken = 0;
    for (job, published_parent) in published.iter().enumerate() {
        let span = jobs
            .iter()
            .find(|s| s.attr("job.id") == Some(&Value::I64(job as i64)))
            .unwrap_or_else(|| panic!("job {job} lost"));
        let api = apis
            .iter()
            .find(|s| s.attr("job") == Some(&Value::I64(job as i64)))
            .unwrap();
        match header_for(job) {
            Header::Valid => {
                let continued = span.span_context.trace_id() == api.span_context.trace_id()
                    && span.parent_span_id.to_string() == *published_parent
                    && span.parent_span_is_remote;
                if !continued {
                    broken += 1;
                }
            }
            Header::Malformed | Header::Missing => {
                assert_eq!(
                    span.parent_span_id,
                    SpanId::INVALID,
                    "job {job}: a new trace"
                );
                assert_ne!(span.span_context.trace_id(), api.span_context.trace_id());
            }
        }
        let expected_status = match job % 10 {
            3 => "failed",
            7 => "panicked",
            _ => "completed",
        };
        assert_eq!(
            span.attr("job.status"),
            Some(&Value::from(expected_status)),
            "job {job}"
        );
        if expected_status == "completed" {
            assert_eq!(span.status, Status::Unset);
        } else {
            assert!(matches!(span.status, Status::Error { .. }), "job {job}");
        }
        let store = spans
            .all_named("storage.upload")
            .find(|s| s.parent_span_id == span.span_context.span_id())
            .unwrap_or_else(|| panic!("job {job}: its step is not under it"));
        assert_eq!(store.span_context.trace_id(), span.span_context.trace_id());
    }
    let valid = (0..JOBS)
        .filter(|j| header_for(*j) == Header::Valid)
        .count();
    println!(
        "redis: jobs sent {JOBS}, acked {acked}, job spans received {}, with a producer context {valid}, broken traces {broken}",
        jobs.len()
    );
    assert_eq!(acked, JOBS);
    assert_eq!(jobs.len(), JOBS, "nothing lost");
    assert_eq!(broken, 0);
}
