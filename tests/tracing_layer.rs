//! `spanwright::tracing_layer()`: `tracing` spans (what hyper, sqlx or tokio emit)
//! become spans of spanwright's pipeline, nested both ways with annotated
//! functions, sync and async, across threads; events stay with
//! `logs::SpanEvents`, on the innermost span of either kind.

use spanwright::opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::{Captured, SpanDataExt, capture, capture_async};
use std::sync::Once;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// One subscriber for the whole binary (async tests hop threads), with the
/// bridge and the span-event layer side by side, as a service would have them.
fn subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(spanwright::tracing_layer())
            .with(spanwright::logs::SpanEvents::at(tracing::Level::WARN));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// Asserts `chain` is a line of parent -> child, all in one trace, the first a root.
fn assert_chain(spans: &Captured, chain: &[&str]) {
    let first = spans.named(chain[0]);
    assert_eq!(
        first.parent_span_id,
        SpanId::INVALID,
        "{} is a root\n{}",
        chain[0],
        spans.tree()
    );
    let trace = first.span_context.trace_id();
    assert_ne!(trace, TraceId::INVALID);
    for pair in chain.windows(2) {
        let (parent, child) = (spans.named(pair[0]), spans.named(pair[1]));
        assert_eq!(
            child.parent_span_id,
            parent.span_context.span_id(),
            "{} is a child of {}\n{}",
            pair[1],
            pair[0],
            spans.tree()
        );
        assert_eq!(child.span_context.trace_id(), trace);
    }
}

#[spanwright::span(attrs(id))]
fn handle(id: u64) -> u64 {
    // What a database library does inside the handler.
    let query = tracing::info_span!("db.query", db.system = "postgresql", rows = 3_i64);
    let _entered = query.enter();
    lookup(id)
}

#[spanwright::span]
fn lookup(id: u64) -> u64 {
    id + 1
}

#[test]
fn sync_spans_nest_both_ways() {
    subscriber();
    let (value, spans) = capture(|| {
        let request = tracing::info_span!("http.request", otel.kind = "server");
        let _entered = request.enter();
        handle(41)
    });
    assert_eq!(value, 42);
    assert_eq!(spans.len(), 4, "{}", spans.tree());
    assert_chain(&spans, &["http.request", "handle", "db.query", "lookup"]);

    let request = spans.named("http.request");
    assert_eq!(request.span_kind, SpanKind::Server, "otel.kind is honoured");
    let query = spans.named("db.query");
    assert_eq!(query.attr("db.system"), Some(&"postgresql".into()));
    assert_eq!(query.attr("rows"), Some(&3_i64.into()));
    assert_eq!(query.status, Status::Unset);
    // A library span ends where it closes: inside its annotated parent.
    assert!(query.end_time <= spans.named("handle").end_time);
}

#[tracing::instrument]
async fn fetch_model(name: &'static str) -> usize {
    tokio::task::yield_now().await;
    decode(name).await
}

#[spanwright::span]
async fn decode(name: &'static str) -> usize {
    tokio::task::yield_now().await;
    // A library future instrumented with its own span, spawned onto the runtime.
    let read = tokio::spawn(
        async move {
            tokio::task::yield_now().await;
            name.len()
        }
        .instrument(tracing::info_span!("storage.read")),
    );
    read.await.unwrap()
}

#[spanwright::span]
async fn infer() -> usize {
    fetch_model("resnet").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_spans_nest_both_ways_across_threads() {
    subscriber();
    let (value, spans) = capture_async(async {
        let mut total = 0;
        for _ in 0..20 {
            total += infer().await;
        }
        total
    })
    .await;
    assert_eq!(value, 20 * 6);
    assert_eq!(spans.all_named("infer").count(), 20, "{}", spans.tree());
    // Every round is one chain, whichever threads its polls ran on.
    for infer in spans.all_named("infer") {
        let child_of = |parent: &SpanData, name: &str| -> SpanData {
            let found: Vec<_> = spans
                .iter()
                .filter(|s| s.name == name && s.parent_span_id == parent.span_context.span_id())
                .collect();
            assert_eq!(
                found.len(),
                1,
                "one {name} under {}\n{}",
                parent.name,
                spans.tree()
            );
            assert_eq!(
                found[0].span_context.trace_id(),
                parent.span_context.trace_id()
            );
            found[0].clone()
        };
        let fetch = child_of(infer, "fetch_model");
        assert_eq!(
            fetch.attr("name"),
            Some(&"resnet".into()),
            "instrument's field"
        );
        let decode = child_of(&fetch, "decode");
        child_of(&decode, "storage.read");
    }
}

#[spanwright::span]
fn retry() {
    tracing::warn!(attempt = 2, "retrying");
}

#[test]
fn events_land_once_on_the_innermost_span_of_either_kind() {
    subscriber();
    let ((), spans) = capture(|| {
        let pool = tracing::info_span!("pool.checkout");
        let _entered = pool.enter();
        tracing::warn!("pool exhausted");
        tracing::info!("below the level: not recorded");
        retry();
    });
    let pool = spans.named("pool.checkout");
    let events: Vec<_> = pool.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(
        events,
        ["log"],
        "one warning on the library span\n{pool:#?}"
    );
    assert_eq!(pool.events[0].attributes[2].value, "pool exhausted".into());
    let retry = spans.named("retry");
    assert_eq!(retry.events.len(), 1, "{retry:#?}");
    assert!(
        retry.events[0]
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "attempt")
    );
    assert_eq!(retry.parent_span_id, pool.span_context.span_id());
}

/// The layer was set up before `init`; library spans go through the installed
/// pipeline (exported and counted) only while telemetry is installed.
#[test]
fn library_spans_use_the_installed_pipeline_while_there_is_one() {
    subscriber();
    tracing::info_span!("before.install").in_scope(|| {
        assert!(
            spanwright::current().trace_id().is_none(),
            "nothing recorded yet"
        );
    });

    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    let trace_id = tracing::info_span!("job.poll").in_scope(|| {
        tracing::info_span!("redis.xread").in_scope(|| lookup(1));
        spanwright::current().trace_id().unwrap()
    });
    let stats = telemetry.shutdown();
    assert_eq!(stats.spans_ended, 3, "{stats:?}");
    assert_eq!(stats.spans_exported, 3, "{stats:?}");

    let exported = kept.spans();
    let mut names: Vec<_> = exported.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["job.poll", "lookup", "redis.xread"]);
    assert!(
        exported
            .iter()
            .all(|s| s.span_context.trace_id().to_string() == trace_id)
    );

    tracing::info_span!("after.drop").in_scope(|| {
        assert_eq!(
            spanwright::current().trace_id(),
            None,
            "nothing installed any more"
        );
    });
    assert_eq!(kept.spans().len(), 3);
}

#[tracing::instrument(err)]
fn library_call(fail: bool) -> Result<u8, String> {
    if fail {
        Err("connection reset".into())
    } else {
        Ok(1)
    }
}

#[tracing::instrument(err)]
async fn library_call_async(fail: bool) -> Result<u8, String> {
    tokio::task::yield_now().await;
    if fail { Err("timed out".into()) } else { Ok(1) }
}

#[spanwright::span]
fn logs_an_error() {
    tracing::error!("logged, then handled");
}

/// `#[tracing::instrument(err)]` marks its span's error with an `ERROR` event:
/// that span gets status Error, sync and async; an `ERROR` event inside an
/// annotated function changes no status (the function records its own outcome),
/// and neither does one in the `tracing` span around that function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_events_set_the_status_of_their_own_tracing_span() {
    subscriber();
    let ((), spans) = capture_async(async {
        assert!(library_call(true).is_err());
        assert!(library_call(false).is_ok());
        assert!(library_call_async(true).await.is_err());
        let outer = tracing::info_span!("outer");
        outer.in_scope(logs_an_error);
    })
    .await;
    let calls: Vec<_> = spans.all_named("library_call").collect();
    assert_eq!(calls[0].status, Status::error("connection reset"));
    assert_eq!(calls[1].status, Status::Unset);
    assert_eq!(
        spans.named("library_call_async").status,
        Status::error("timed out")
    );
    assert_eq!(spans.named("logs_an_error").status, Status::Unset);
    assert_eq!(spans.named("outer").status, Status::Unset);
    assert_eq!(spans.named("logs_an_error").events.len(), 1, "SpanEvents");
}
