//! `#[span]` on async functions and future-returning functions.

use spanwright::opentelemetry::trace::{FutureExt as _, SpanId, Status, TraceContextExt};
use spanwright::opentelemetry::{Context, Value};
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::{SpanDataExt, capture, capture_async};
use spanwright_tests::{block_on, poll_once, yield_once};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::Poll;

fn s(v: &str) -> Value {
    Value::from(v.to_owned())
}

#[derive(Debug)]
struct Timeout;
impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("model server timed out")
    }
}

#[spanwright::span(kind = client, attrs(model))]
async fn infer(model: &str, fail: bool) -> Result<usize, Timeout> {
    yield_once().await;
    step(model.len()).await;
    if fail { Err(Timeout) } else { Ok(model.len()) }
}

#[spanwright::span]
async fn step(n: usize) -> usize {
    yield_once().await;
    n
}

#[test]
fn async_outcomes_and_nesting() {
    let (results, spans) = block_on(capture_async(async {
        (infer("llama", false).await, infer("llama", true).await)
    }));
    assert_eq!(results.0.unwrap(), 5);
    assert!(results.1.is_err());
    let infers: Vec<&SpanData> = spans.all_named("infer").collect();
    assert_eq!(infers.len(), 2);
    assert_eq!(infers[0].status, Status::Unset);
    assert_eq!(infers[1].status, Status::error("model server timed out"));
    assert_eq!(
        infers[1]
            .event("exception")
            .unwrap()
            .attr("exception.message"),
        Some(&s("model server timed out"))
    );
    assert_eq!(infers[0].attr("model"), Some(&s("llama")));
    let steps: Vec<&SpanData> = spans.all_named("step").collect();
    assert_eq!(steps[0].parent_span_id, infers[0].span_context.span_id());
    assert_eq!(steps[1].parent_span_id, infers[1].span_context.span_id());
}

#[spanwright::span]
async fn slow() -> u8 {
    yield_once().await;
    yield_once().await;
    1
}

#[test]
fn dropped_future_is_ended_as_cancelled() {
    let ((), spans) = capture(|| {
        let mut future = Box::pin(slow());
        assert!(poll_once(future.as_mut()).is_pending());
        drop(future);
    });
    let span = spans.named("slow");
    assert_eq!(span.attr("cancelled"), Some(&Value::Bool(true)));
    assert_eq!(span.status, Status::Unset);
    assert!(span.events.is_empty());
}

#[test]
fn a_future_never_polled_creates_no_span() {
    let ((), spans) = capture(|| drop(slow()));
    assert!(spans.is_empty());
}

#[spanwright::span]
async fn async_panics() -> u8 {
    yield_once().await;
    panic!("worker exploded")
}

#[test]
fn panic_inside_poll_is_recorded() {
    let (result, spans) = capture(|| std::panic::catch_unwind(|| block_on(async_panics())));
    assert!(result.is_err());
    let span = spans.named("async_panics");
    assert_eq!(span.status, Status::error("worker exploded"));
    assert_eq!(span.attr("error.type"), Some(&s("panic")));
    assert_eq!(span.attr("cancelled"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_in_a_spawned_task_is_recorded_not_cancelled() {
    let (joined, spans) =
        capture_async(async { tokio::spawn(async_panics().with_current_context()).await }).await;
    assert!(joined.unwrap_err().is_panic());
    let span = spans.named("async_panics");
    assert_eq!(span.status, Status::error("worker exploded"));
    assert_eq!(span.attr("cancelled"), None);
}

#[spanwright::span(attrs(tag))]
fn tagged_child(tag: &str) {}

#[spanwright::span(attrs(tag))]
async fn interleaved(tag: &'static str) -> Option<String> {
    let mine = spanwright::current().span_id();
    yield_once().await;
    // After resuming (with the other future polled in between) this span is current again.
    assert_eq!(spanwright::current().span_id(), mine);
    tagged_child(tag);
    mine
}

#[test]
fn interleaved_futures_on_one_thread_each_see_their_own_span() {
    let ((), spans) = capture(|| {
        let mut a = pin!(interleaved("a"));
        let mut b = pin!(interleaved("b"));
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        // Between polls nothing is current.
        assert!(!Context::current().has_active_span());
        assert!(matches!(poll_once(b.as_mut()), Poll::Ready(Some(_))));
        assert!(matches!(poll_once(a.as_mut()), Poll::Ready(Some(_))));
    });
    let parents: Vec<&SpanData> = spans.all_named("interleaved").collect();
    for parent in parents {
        let tag = parent.attr("tag").unwrap();
        let child = spans
            .all_named("tagged_child")
            .find(|c| c.attr("tag") == Some(tag))
            .unwrap();
        assert_eq!(child.parent_span_id, parent.span_context.span_id(), "{tag}");
    }
}

#[spanwright::span]
async fn spawns() -> SpanId {
    let child = tokio::spawn(step(3).with_current_context());
    child.await.unwrap();
    Context::current().span().span_context().span_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_task_carried_with_current_context() {
    let (id, spans) = capture_async(spawns()).await;
    let parent = spans.named("spawns");
    assert_eq!(parent.span_context.span_id(), id);
    assert_eq!(spans.named("step").parent_span_id, id);
}

struct Store {
    calls: u32,
}

impl Store {
    // The manual form is the shape under test (clippy would suggest `async fn`).
    #[spanwright::span(name = "store.get", attrs(key))]
    #[allow(clippy::manual_async_fn)]
    fn get<'a>(&'a mut self, key: &'a str) -> impl Future<Output = Result<u32, Timeout>> + 'a {
        async move {
            yield_once().await;
            self.calls += 1;
            if key.is_empty() {
                Err(Timeout)
            } else {
                Ok(self.calls)
            }
        }
    }

    #[spanwright::span(name = "store.put")]
    fn put(&self, value: u32) -> Pin<Box<dyn Future<Output = u32> + Send + '_>> {
        Box::pin(async move {
            yield_once().await;
            let inner = Context::current().span().span_context().span_id();
            assert_ne!(
                inner,
                SpanId::INVALID,
                "the span is current while the future runs"
            );
            value + self.calls
        })
    }
}

#[test]
fn future_returning_functions_span_the_execution_not_the_construction() {
    let ((), spans) = capture(|| {
        let mut store = Store { calls: 0 };
        let future = store.get("k");
        // Constructed, not polled: no span yet.
        assert!(!Context::current().has_active_span());
        assert_eq!(block_on(future).unwrap(), 1);
        assert!(block_on(store.get("")).is_err());
        assert_eq!(block_on(store.put(1)), 3);
    });
    let gets: Vec<&SpanData> = spans.all_named("store.get").collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].attr("key"), Some(&s("k")));
    assert_eq!(gets[1].status, Status::error("model server timed out"));
    assert!(spans.named("store.put").end_time > spans.named("store.put").start_time);
}

#[spanwright::span(ret)]
async fn async_ret(x: u32) -> Result<u32, Timeout> {
    Ok(x * 2)
}

#[test]
fn async_ret_records_the_ok_value() {
    let (_, spans) = block_on(capture_async(async_ret(21)));
    assert_eq!(
        spans.named("async_ret").attr("return.value"),
        Some(&Value::I64(42))
    );
}

/// The contract: an annotated async function's future grows by at most 32 bytes.
#[test]
fn future_sizes_stay_small() {
    async fn plain_async(a: u64, b: &str) -> usize {
        yield_once().await;
        a as usize + b.len()
    }
    #[spanwright::span(attrs(a, b))]
    async fn spanned_async(a: u64, b: &str) -> usize {
        yield_once().await;
        a as usize + b.len()
    }
    let plain = std::mem::size_of_val(&plain_async(1, "x"));
    let spanned = std::mem::size_of_val(&spanned_async(1, "x"));
    println!("future sizes: plain {plain} B, #[span] {spanned} B");
    assert!(
        spanned <= plain + 32,
        "plain {plain} B, spanned {spanned} B"
    );
}

/// Records when it is dropped, into the log it shares with the body.
struct Guard(
    &'static str,
    std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
);

impl Drop for Guard {
    fn drop(&mut self) {
        self.1.lock().unwrap().push(self.0);
    }
}

#[spanwright::span]
async fn holds_its_parameters(
    _permit: Guard,
    _: Guard,
    (log, _unused): (std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>, u8),
) {
    yield_once().await;
    log.lock().unwrap().push("body done");
}

/// Like an `async fn`'s, the future holds every parameter until the body is
/// done, even those the body never names, and starts nothing before its first
/// poll; disabled or recorded alike.
#[test]
fn parameters_live_until_the_body_is_done() {
    for recorded in [false, true] {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let run = || {
            let future = holds_its_parameters(
                Guard("permit dropped", log.clone()),
                Guard("wildcard dropped", log.clone()),
                (log.clone(), 0),
            );
            assert!(
                log.lock().unwrap().is_empty(),
                "nothing runs before the first poll"
            );
            block_on(future);
        };
        if recorded {
            let ((), spans) = capture(run);
            assert_eq!(spans.all_named("holds_its_parameters").count(), 1);
        } else {
            run();
        }
        let log = log.lock().unwrap();
        assert_eq!(log[0], "body done", "recorded: {recorded}: {log:?}");
        assert_eq!(log.len(), 3, "{log:?}");
    }
}

#[spanwright::span(attrs(id))]
async fn built_outside(id: u64) -> u64 {
    yield_once().await;
    id
}

/// The span starts at the first poll: a future made before a capture (or before
/// `init`) and polled inside it is recorded, with its attributes, under the
/// span current when it is polled.
#[test]
fn a_future_made_before_telemetry_is_recorded_when_polled() {
    let future = built_outside(7);
    let (value, spans) = capture(|| {
        let parent = Context::current();
        assert!(!parent.has_active_span());
        block_on(future)
    });
    assert_eq!(value, 7);
    assert_eq!(
        spans.named("built_outside").attr("id"),
        Some(&Value::I64(7))
    );
}

// --- Where an async span takes its parent, and where its future's drops run ---

#[spanwright::span]
async fn send_email(user: u32) -> SpanId {
    yield_once().await;
    let _ = user;
    Context::current().span().span_context().span_id()
}

/// A request handler that spawns its side work without carrying the context by
/// hand, as a service written for `#[tracing::instrument]` does.
#[spanwright::span]
async fn handle_request(user: u32) -> (SpanId, tokio::task::JoinHandle<SpanId>) {
    let detached = tokio::spawn(send_email(user));
    let joined = tokio::spawn(send_email(user + 1)).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    set.spawn(send_email(user + 2));
    set.spawn(send_email(user + 3));
    let mut from_set = Vec::new();
    while let Some(id) = set.join_next().await {
        from_set.push(id.unwrap());
    }
    assert_eq!(from_set.len(), 2);
    let me = Context::current().span().span_context().span_id();
    let _ = joined;
    (me, detached)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_keep_the_caller_as_parent() {
    let ((request, detached), spans) = capture_async(async {
        let (request, detached) = handle_request(7).await;
        // Joined after the parent returned (and its span ended).
        (request, detached.await.unwrap())
    })
    .await;
    let parent = spans.named("handle_request");
    assert_eq!(parent.span_context.span_id(), request);
    let emails: Vec<&SpanData> = spans.all_named("send_email").collect();
    assert_eq!(
        emails.len(),
        4,
        "every spawned task is recorded by the capture"
    );
    for email in &emails {
        assert_eq!(email.parent_span_id, request, "spawned child's parent");
        assert_eq!(
            email.span_context.trace_id(),
            parent.span_context.trace_id(),
            "one trace"
        );
    }
    assert!(emails.iter().any(|e| e.span_context.span_id() == detached));
}

#[spanwright::span]
async fn a() -> std::pin::Pin<Box<dyn Future<Output = SpanId> + Send>> {
    Box::pin(send_email(1))
}

#[spanwright::span]
async fn b(made_in_a: std::pin::Pin<Box<dyn Future<Output = SpanId> + Send>>) -> SpanId {
    made_in_a.await
}

#[test]
fn a_future_takes_its_parent_where_it_is_made() {
    let (_, spans) = block_on(capture_async(async { b(a().await).await }));
    let email = spans.named("send_email");
    assert_eq!(
        email.parent_span_id,
        spans.named("a").span_context.span_id()
    );
    assert_ne!(
        email.parent_span_id,
        spans.named("b").span_context.span_id()
    );
}

/// Notes the span current when it is dropped.
struct DropProbe(
    std::sync::Arc<std::sync::Mutex<Vec<(&'static str, SpanId)>>>,
    &'static str,
);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let id = Context::current().span().span_context().span_id();
        self.0.lock().unwrap().push((self.1, id));
    }
}

#[spanwright::span]
async fn guarded(param: DropProbe, dropped: bool) -> SpanId {
    let _local = DropProbe(std::sync::Arc::clone(&param.0), "local");
    yield_once().await;
    if dropped {
        std::future::pending::<()>().await;
    }
    Context::current().span().span_context().span_id()
}

#[test]
fn a_futures_drops_run_inside_its_span() {
    for cancelled in [true, false] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let probe = DropProbe(std::sync::Arc::clone(&seen), "parameter");
        let (_, spans) = capture(|| {
            let mut future = Box::pin(guarded(probe, cancelled));
            if cancelled {
                assert!(poll_once(future.as_mut()).is_pending());
                assert!(poll_once(future.as_mut()).is_pending());
                drop(future); // a `select!` or a timeout that gave up on it
            } else {
                block_on(future);
            }
        });
        let span = spans.named("guarded").span_context.span_id();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![("local", span), ("parameter", span)],
            "cancelled: {cancelled}"
        );
        let cancelled_attr = spans.named("guarded").attr("cancelled").cloned();
        assert_eq!(cancelled_attr, cancelled.then_some(Value::Bool(true)));
    }
}

#[test]
fn a_future_dropped_on_another_thread_drops_its_body_in_its_span() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let probe = DropProbe(std::sync::Arc::clone(&seen), "parameter");
    let (_, spans) = capture(|| {
        let mut future = Box::pin(guarded(probe, true));
        assert!(poll_once(future.as_mut()).is_pending());
        // A runtime moves the task and drops it on another worker.
        std::thread::spawn(move || drop(future)).join().unwrap();
    });
    let span = spans.named("guarded").span_context.span_id();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![("local", span), ("parameter", span)]
    );
}
