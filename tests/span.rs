//! `#[span]` on sync functions: names, kinds, attributes, outcomes, context.

use spanwright::opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use spanwright::opentelemetry::{Array, Context, KeyValue, Value};
use spanwright::opentelemetry_sdk::trace::{Sampler, SpanData};
use spanwright::testing::{Capture, SpanDataExt, capture};
use spanwright_tests::traceparent;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

fn s(v: &str) -> Value {
    Value::from(v.to_owned())
}

fn user_attrs(span: &SpanData) -> Vec<&KeyValue> {
    span.attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code."))
        .collect()
}

#[spanwright::span]
fn plain() {}

#[spanwright::span(name = "storage.download")]
fn named() {}

#[spanwright::span(name = "process_job.{job_type}.{attempt}")]
fn templated(job_type: &str, attempt: u32) -> u32 {
    attempt
}

#[spanwright::span(name = "literal.{{braces}}")]
fn escaped() {}

#[test]
fn names_default_fixed_and_templates() {
    let (_, spans) = capture(|| {
        plain();
        named();
        templated("resize", 3);
        escaped();
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "plain",
            "storage.download",
            "process_job.resize.3",
            "literal.{braces}"
        ]
    );
}

#[spanwright::span(kind = internal)]
fn k_internal() {}
#[spanwright::span(kind = server)]
fn k_server() {}
#[spanwright::span(kind = client)]
fn k_client() {}
#[spanwright::span(kind = producer)]
fn k_producer() {}
#[spanwright::span(kind = consumer)]
fn k_consumer() {}

#[test]
fn every_kind() {
    let (_, spans) = capture(|| {
        plain();
        k_internal();
        k_server();
        k_client();
        k_producer();
        k_consumer();
    });
    let kinds: Vec<SpanKind> = spans.iter().map(|s| s.span_kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            SpanKind::Internal,
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer
        ]
    );
}

struct Model {
    name: &'static str,
}
impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model:{}", self.name)
    }
}
#[derive(Debug)]
#[allow(dead_code)]
struct Shape {
    w: u32,
}

#[allow(clippy::too_many_arguments)]
#[spanwright::span(attrs(
    count,
    ratio = ratio * 2.0,
    flag = !flag,
    label,
    owned,
    cow,
    "quoted.key" = 5_i64,
    maybe.some = some,
    maybe.none = none,
    list = vec![1_i64, 2],
    names = &["a", "b"][..],
    big = u64::MAX,
    model.display = %model,
    shape.debug = ?shape,
    %model,
    job.type = "typed",
))]
fn every_form(
    count: u32,
    ratio: f64,
    flag: bool,
    label: &str,
    owned: String,
    cow: Cow<'_, str>,
    some: Option<i32>,
    none: Option<&str>,
    model: Model,
    shape: Shape,
) {
    let _ = (
        count, ratio, flag, label, owned, cow, some, none, model, shape,
    );
}

#[test]
fn attributes_of_every_form_keep_their_type() {
    let (_, spans) = capture(|| {
        every_form(
            7,
            1.25,
            false,
            "lbl",
            "own".into(),
            Cow::Borrowed("cw"),
            Some(-3),
            None,
            Model { name: "m1" },
            Shape { w: 4 },
        )
    });
    let span = spans.named("every_form");
    assert_eq!(span.attr("count"), Some(&Value::I64(7)));
    assert_eq!(span.attr("ratio"), Some(&Value::F64(2.5)));
    assert_eq!(span.attr("flag"), Some(&Value::Bool(true)));
    assert_eq!(span.attr("label"), Some(&s("lbl")));
    assert_eq!(span.attr("owned"), Some(&s("own")));
    assert_eq!(span.attr("cow"), Some(&s("cw")));
    assert_eq!(span.attr("quoted.key"), Some(&Value::I64(5)));
    assert_eq!(span.attr("maybe.some"), Some(&Value::I64(-3)));
    assert_eq!(span.attr("maybe.none"), None, "None records nothing");
    assert_eq!(
        span.attr("list"),
        Some(&Value::Array(Array::I64(vec![1, 2])))
    );
    assert_eq!(
        span.attr("names"),
        Some(&Value::Array(Array::String(vec!["a".into(), "b".into()])))
    );
    assert_eq!(
        span.attr("big"),
        Some(&s("18446744073709551615")),
        "u64 beyond i64 as decimal"
    );
    assert_eq!(span.attr("model.display"), Some(&s("model:m1")));
    assert_eq!(span.attr("shape.debug"), Some(&s("Shape { w: 4 }")));
    assert_eq!(span.attr("model"), Some(&s("model:m1")));
    assert_eq!(span.attr("job.type"), Some(&s("typed")));
    assert_eq!(user_attrs(span).len(), 15);
}

#[spanwright::span]
fn secretive(user: &str, password: &str) -> usize {
    user.len() + password.len()
}

#[test]
fn nothing_recorded_by_default_but_the_location() {
    let (n, spans) = capture(|| secretive("ann", "hunter2"));
    assert_eq!(n, 10);
    let span = spans.named("secretive");
    assert!(user_attrs(span).is_empty(), "{:?}", span.attributes);
    assert_eq!(span.attributes.len(), 3);
    assert_eq!(span.attr("code.function.name"), Some(&s("span::secretive")));
    assert_eq!(span.attr("code.file.path"), Some(&s(file!())));
    let Some(Value::I64(line)) = span.attr("code.line.number") else {
        panic!("no line")
    };
    assert!(*line > 100 && *line < 200, "line {line}");
}

#[spanwright::span]
fn annotated(
    #[attr] job_id: u64,
    #[attr("model.name")] model: &str,
    plain: u8,
    #[attr("pair")] [a, b]: [i64; 2],
) -> i64 {
    job_id as i64 + model.len() as i64 + i64::from(plain) + a + b
}

#[test]
fn parameter_annotations() {
    let (sum, spans) = capture(|| annotated(10, "gpt", 1, [2, 3]));
    assert_eq!(sum, 19);
    let span = spans.named("annotated");
    assert_eq!(span.attr("job_id"), Some(&Value::I64(10)));
    assert_eq!(span.attr("model.name"), Some(&s("gpt")));
    assert_eq!(
        span.attr("pair"),
        Some(&Value::Array(Array::I64(vec![2, 3])))
    );
    assert_eq!(span.attr("plain"), None);
    assert_eq!(user_attrs(span).len(), 3);
}

#[derive(Debug)]
struct DisplayError;
impl fmt::Display for DisplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for DisplayError {}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct DebugOnly {
    code: i32,
}

#[spanwright::span]
fn fails_display() -> Result<(), DisplayError> {
    Err(DisplayError)
}

#[spanwright::span]
fn fails_debug() -> Result<(), DebugOnly> {
    Err(DebugOnly { code: 4 })
}

#[spanwright::span]
fn fails_with_question_mark(input: &str) -> Result<i32, Box<dyn std::error::Error>> {
    let n: i32 = input.parse()?;
    Ok(n)
}

#[spanwright::span]
fn succeeds() -> Result<u8, DisplayError> {
    Ok(1)
}

#[spanwright::span(status_ok)]
fn succeeds_ok() -> Result<u8, DisplayError> {
    Ok(1)
}

#[spanwright::span(status_ok)]
fn fails_ok() -> Result<u8, DisplayError> {
    Err(DisplayError)
}

#[test]
fn err_sets_status_error_type_and_exception_event() {
    let (_, spans) = capture(|| {
        let _ = fails_display();
        let _ = fails_debug();
        let _ = fails_with_question_mark("x1");
    });
    let span = spans.named("fails_display");
    assert_eq!(span.status, Status::error("disk full"));
    let error_type = "span::DisplayError";
    assert_eq!(span.attr("error.type"), Some(&s(error_type)));
    let event = span.event("exception").expect("exception event");
    assert_eq!(event.attr("exception.type"), Some(&s(error_type)));
    assert_eq!(event.attr("exception.message"), Some(&s("disk full")));
    assert_eq!(span.events.len(), 1);

    let span = spans.named("fails_debug");
    assert_eq!(
        span.status,
        Status::error("DebugOnly { code: 4 }"),
        "Debug when no Display"
    );

    let span = spans.named("fails_with_question_mark");
    assert_eq!(span.status, Status::error("invalid digit found in string"));
    assert_eq!(
        span.attr("error.type"),
        Some(&s("alloc::boxed::Box<dyn core::error::Error>"))
    );
}

#[test]
fn success_leaves_status_unset_unless_status_ok() {
    let (_, spans) = capture(|| {
        let _ = succeeds();
        let _ = succeeds_ok();
        let _ = fails_ok();
        plain();
    });
    assert_eq!(spans.named("succeeds").status, Status::Unset);
    assert!(spans.named("succeeds").events.is_empty());
    assert_eq!(spans.named("succeeds").attr("error.type"), None);
    assert_eq!(spans.named("succeeds_ok").status, Status::Ok);
    assert_eq!(spans.named("fails_ok").status, Status::error("disk full"));
    assert_eq!(spans.named("plain").status, Status::Unset);
}

#[spanwright::span]
fn panics(message: &str) -> u8 {
    if !message.is_empty() {
        panic!("boom: {message}");
    }
    0
}

#[spanwright::span]
fn outer_of_panic() -> u8 {
    panics("deep")
}

#[test]
fn panic_is_recorded_and_keeps_unwinding() {
    let (result, spans) = capture(|| std::panic::catch_unwind(outer_of_panic));
    let payload = result.expect_err("the panic continues to unwind");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("boom: deep")
    );
    for name in ["panics", "outer_of_panic"] {
        let span = spans.named(name);
        assert_eq!(span.status, Status::error("boom: deep"), "{name}");
        assert_eq!(span.attr("error.type"), Some(&s("panic")));
        let event = span.event("exception").expect("exception event");
        assert_eq!(event.attr("exception.type"), Some(&s("panic")));
        assert_eq!(event.attr("exception.message"), Some(&s("boom: deep")));
        assert_eq!(event.attr("code.file.path"), Some(&s(file!())));
        assert!(matches!(
            event.attr("code.line.number"),
            Some(Value::I64(_))
        ));
    }
    let inner = spans.named("panics");
    let outer = spans.named("outer_of_panic");
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    // The context stack is restored: a span after the panic is a root again.
    let (_, after) = capture(plain);
    assert_eq!(
        after.named("plain").parent_span_id,
        spanwright::opentelemetry::trace::SpanId::INVALID
    );
}

#[spanwright::span(ret)]
fn ret_int() -> i64 {
    41 + 1
}
#[spanwright::span(ret)]
fn ret_ok() -> Result<&'static str, DisplayError> {
    Ok("done")
}
#[spanwright::span(ret)]
fn ret_err() -> Result<&'static str, DisplayError> {
    Err(DisplayError)
}
#[spanwright::span(ret)]
fn ret_debug() -> Shape {
    Shape { w: 9 }
}

#[test]
fn ret_records_the_return_value() {
    let (_, spans) = capture(|| {
        ret_int();
        let _ = ret_ok();
        let _ = ret_err();
        ret_debug();
    });
    assert_eq!(
        spans.named("ret_int").attr("return.value"),
        Some(&Value::I64(42))
    );
    assert_eq!(spans.named("ret_ok").attr("return.value"), Some(&s("done")));
    assert_eq!(spans.named("ret_err").attr("return.value"), None);
    assert_eq!(
        spans.named("ret_debug").attr("return.value"),
        Some(&s("Shape { w: 9 }"))
    );
}

#[spanwright::span]
fn parent_fn() -> (String, String) {
    let cx = Context::current();
    let seen_by_otel = cx.span().span_context().span_id().to_string();
    child_fn();
    child_fn();
    (seen_by_otel, spanwright::current().span_id().unwrap())
}

#[spanwright::span]
fn child_fn() {}

#[test]
fn nesting_and_current_context() {
    let ((otel_id, current_id), spans) = capture(parent_fn);
    let parent = spans.named("parent_fn");
    let id = parent.span_context.span_id().to_string();
    assert_eq!(
        otel_id, id,
        "Context::current() inside the body is the span"
    );
    assert_eq!(current_id, id);
    let children: Vec<&SpanData> = spans.all_named("child_fn").collect();
    assert_eq!(children.len(), 2);
    for child in children {
        assert_eq!(child.parent_span_id, parent.span_context.span_id());
        assert_eq!(
            child.span_context.trace_id(),
            parent.span_context.trace_id()
        );
    }
    assert_eq!(
        spans.tree(),
        "parent_fn (internal)\n  child_fn (internal)\n  child_fn (internal)\n"
    );
    // Outside the body the span is no longer current.
    assert!(!Context::current().has_active_span());
}

#[spanwright::span(kind = consumer, parent = carrier)]
fn continue_from(carrier: &HashMap<String, String>) {}

#[spanwright::span(root)]
fn always_root() {}

#[spanwright::span]
fn wraps(carrier: &HashMap<String, String>) {
    continue_from(carrier);
    always_root();
}

#[test]
fn parent_from_a_valid_carrier() {
    let carrier = traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let (_, spans) = capture(|| wraps(&carrier));
    let span = spans.named("continue_from");
    assert_eq!(
        span.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(span.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(span.parent_span_is_remote);
}

#[test]
fn malformed_or_missing_carrier_starts_a_new_trace() {
    for carrier in [
        HashMap::from([(
            "traceparent".to_string(),
            "00-zzzz-00f067aa0ba902b7-01".to_string(),
        )]),
        traceparent("00000000000000000000000000000000", "00f067aa0ba902b7"),
        HashMap::new(),
    ] {
        let (_, spans) = capture(|| wraps(&carrier));
        let outer = spans.named("wraps");
        let span = spans.named("continue_from");
        assert_eq!(
            span.parent_span_id,
            spanwright::opentelemetry::trace::SpanId::INVALID,
            "{carrier:?}"
        );
        assert_ne!(span.span_context.trace_id(), outer.span_context.trace_id());
        assert!(span.span_context.is_valid());
    }
}

#[test]
fn root_starts_a_new_trace_inside_another_span() {
    let (_, spans) = capture(|| wraps(&HashMap::new()));
    let outer = spans.named("wraps");
    let root = spans.named("always_root");
    assert_eq!(
        root.parent_span_id,
        spanwright::opentelemetry::trace::SpanId::INVALID
    );
    assert_ne!(root.span_context.trace_id(), outer.span_context.trace_id());
}

#[spanwright::span(link = first)]
fn linked(first: &HashMap<String, String>) {}

#[spanwright::span(links(first, second))]
fn linked_twice(first: &HashMap<String, String>, second: &HashMap<String, String>) {}

#[test]
fn links_to_carrier_contexts() {
    let a = traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let b = traceparent("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    let bad = HashMap::from([("traceparent".to_string(), "garbage".to_string())]);
    let (_, spans) = capture(|| {
        linked(&a);
        linked_twice(&a, &b);
        linked(&bad);
    });
    let all: Vec<&SpanData> = spans.all_named("linked").collect();
    let one = &all[0].links.links;
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(
        one[0].span_context.span_id().to_string(),
        "00f067aa0ba902b7"
    );
    assert_eq!(
        all[0].parent_span_id,
        spanwright::opentelemetry::trace::SpanId::INVALID,
        "a link is not a parent"
    );
    assert!(
        all[1].links.links.is_empty(),
        "a malformed carrier adds no link"
    );
    let two = &spans.named("linked_twice").links.links;
    assert_eq!(two.len(), 2);
    assert_eq!(
        two[1].span_context.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted(v: u64) -> u64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    v
}

#[spanwright::span(name = "counted.{x}", attrs(x.counted = counted(x), x.shown = %counted(x)))]
fn with_side_effects(x: u64) -> u64 {
    x
}

#[test]
fn attribute_expressions_run_once_when_recorded_and_never_when_dropped() {
    // Sampled out: no attribute work at all.
    let (v, spans) = Capture::with_sampler(Sampler::AlwaysOff).run(|| with_side_effects(3));
    assert_eq!(v, 3);
    assert!(spans.is_empty());
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
    // Recorded: each expression exactly once.
    let (_, spans) = capture(|| with_side_effects(4));
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 2);
    assert_eq!(
        spans.named("counted.4").attr("x.counted"),
        Some(&Value::I64(4))
    );
}

#[spanwright::span]
fn uses_current() -> (Option<String>, Option<String>) {
    let current = spanwright::current();
    current
        .set_attribute("rows", 12_i64)
        .add_event("cache.miss", [KeyValue::new("cache.key", "k1")])
        .record_error(&DisplayError);
    let mut headers = HashMap::new();
    spanwright::inject(&mut headers);
    let traceparent = headers.get("traceparent").cloned().unwrap();
    let expected = format!(
        "00-{}-{}-01",
        current.trace_id().unwrap(),
        current.span_id().unwrap()
    );
    assert_eq!(traceparent, expected);
    (current.trace_id(), current.span_id())
}

#[test]
fn current_span_api() {
    let ((trace_id, span_id), spans) = capture(uses_current);
    let span = spans.named("uses_current");
    assert_eq!(trace_id, Some(span.span_context.trace_id().to_string()));
    assert_eq!(span_id, Some(span.span_context.span_id().to_string()));
    assert_eq!(span.attr("rows"), Some(&Value::I64(12)));
    assert_eq!(
        span.event("cache.miss").unwrap().attr("cache.key"),
        Some(&s("k1"))
    );
    assert_eq!(span.status, Status::error("disk full"));
    assert_eq!(
        span.event("exception").unwrap().attr("exception.message"),
        Some(&s("disk full"))
    );
    // Outside any span the handle is inert.
    assert_eq!(spanwright::current().trace_id(), None);
}

#[test]
fn concurrent_captures_see_only_their_own_spans() {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4_u32)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                capture(|| {
                    barrier.wait();
                    for i in 0..200 {
                        templated(&format!("t{t}"), i);
                    }
                    barrier.wait();
                })
                .1
            })
        })
        .collect();
    for (t, thread) in threads.into_iter().enumerate() {
        let spans = thread.join().unwrap();
        assert_eq!(spans.len(), 200);
        let prefix = format!("process_job.t{t}.");
        assert!(spans.iter().all(|s| s.name.starts_with(&prefix)));
    }
}

/// # Safety
/// `p` must point to a readable byte.
#[spanwright::span]
unsafe fn unsafe_function(p: *const u8) -> u8 {
    // SAFETY: the caller guarantees `p` is readable.
    unsafe { *p }
}

#[test]
fn unsafe_fn_is_spanned() {
    let byte = 9_u8;
    // SAFETY: `byte` is a live local.
    let (value, spans) = capture(|| unsafe { unsafe_function(&byte) });
    assert_eq!(value, 9);
    assert_eq!(spans.named("unsafe_function").name, "unsafe_function");
}
