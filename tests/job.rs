//! `#[traced_job]`: defaults, outcomes and job attributes.

use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::{SpanId, SpanKind, Status};
use spanwright::testing::{SpanDataExt, capture};
use spanwright_tests::{block_on, poll_once, traceparent, yield_once};
use std::collections::HashMap;

fn s(v: &str) -> Value {
    Value::from(v.to_owned())
}

#[derive(Debug)]
struct Failed;
impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upload rejected")
    }
}

#[spanwright::traced_job(id = job_id, attempt = attempt, attrs(messaging.system = "redis"))]
fn handle(job_id: &str, attempt: u32, fail: bool) -> Result<(), Failed> {
    step();
    if fail { Err(Failed) } else { Ok(()) }
}

#[spanwright::span]
fn step() {}

#[spanwright::span]
fn api() {
    handle("j-1", 1, false).unwrap();
}

#[test]
fn a_job_is_a_consumer_root_with_its_attributes() {
    let ((), spans) = capture(api);
    let job = spans.named("handle");
    assert_eq!(job.span_kind, SpanKind::Consumer);
    assert_eq!(
        job.parent_span_id,
        SpanId::INVALID,
        "a new trace even inside another span"
    );
    assert_ne!(
        job.span_context.trace_id(),
        spans.named("api").span_context.trace_id()
    );
    assert_eq!(job.attr("job.id"), Some(&s("j-1")));
    assert_eq!(job.attr("job.attempt"), Some(&Value::I64(1)));
    assert_eq!(job.attr("messaging.system"), Some(&s("redis")));
    assert_eq!(job.attr("job.status"), Some(&s("completed")));
    assert!(matches!(job.attr("job.duration_ms"), Some(Value::F64(ms)) if *ms >= 0.0));
    assert_eq!(job.status, Status::Unset);
    assert_eq!(
        spans.named("step").parent_span_id,
        job.span_context.span_id()
    );
}

#[test]
fn failed_job() {
    let (result, spans) = capture(|| handle("j-2", 3, true));
    assert!(result.is_err());
    let job = spans.named("handle");
    assert_eq!(job.attr("job.status"), Some(&s("failed")));
    assert_eq!(job.status, Status::error("upload rejected"));
    assert_eq!(
        job.event("exception").unwrap().attr("exception.message"),
        Some(&s("upload rejected"))
    );
}

#[spanwright::traced_job]
fn panicking_job() {
    panic!("corrupt message");
}

#[test]
fn panicked_job() {
    let (result, spans) = capture(|| std::panic::catch_unwind(panicking_job));
    assert!(result.is_err());
    let job = spans.named("panicking_job");
    assert_eq!(job.attr("job.status"), Some(&s("panicked")));
    assert_eq!(job.status, Status::error("corrupt message"));
    assert!(job.attr("job.duration_ms").is_some());
}

#[spanwright::traced_job(status_ok)]
async fn async_job(n: u32) -> u32 {
    yield_once().await;
    n
}

#[test]
fn async_job_completed_and_cancelled() {
    let ((), spans) = capture(|| {
        assert_eq!(block_on(async_job(1)), 1);
        let mut cancelled = Box::pin(async_job(2));
        assert!(poll_once(cancelled.as_mut()).is_pending());
    });
    let jobs: Vec<_> = spans.all_named("async_job").collect();
    assert_eq!(jobs[0].attr("job.status"), Some(&s("completed")));
    assert_eq!(jobs[0].status, Status::Ok);
    assert_eq!(jobs[1].attr("job.status"), Some(&s("cancelled")));
    assert_eq!(jobs[1].attr("cancelled"), Some(&Value::Bool(true)));
    assert_eq!(jobs[1].status, Status::Unset);
}

#[spanwright::traced_job(parent = &message.headers, id = message.id)]
fn consume(message: &Message) -> usize {
    message.body.len()
}

#[spanwright::traced_job(link = &message.headers, kind = consumer)]
fn consume_linked(message: &Message) -> usize {
    message.body.len()
}

struct Message {
    id: u64,
    headers: HashMap<String, String>,
    body: String,
}

#[test]
fn a_job_continues_or_links_the_producers_trace() {
    let message = Message {
        id: 9,
        headers: traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
        body: "payload".into(),
    };
    let (_, spans) = capture(|| (consume(&message), consume_linked(&message)));
    let job = spans.named("consume");
    assert_eq!(
        job.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(job.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(job.attr("job.id"), Some(&Value::I64(9)));
    let linked = spans.named("consume_linked");
    assert_eq!(linked.parent_span_id, SpanId::INVALID);
    assert_eq!(
        linked.links.links[0].span_context.span_id().to_string(),
        "00f067aa0ba902b7"
    );
}
