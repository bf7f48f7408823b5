//! Panics the span must record correctly: after a user's panic hook replaced
//! spanwright's, from an error's `Display`, from an attribute expression and from
//! a name template. A binary of its own: one test replaces the panic hook for the
//! whole process.

use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::Status;
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::{SpanDataExt, capture};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The hook is process-wide: the test that replaces it runs alone.
static HOOK: Mutex<()> = Mutex::new(());

fn exception(span: &SpanData) -> &spanwright::opentelemetry::trace::Event {
    span.events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap_or_else(|| panic!("no exception event on {}", span.name))
}

/// Runs `f`, which must panic, inside a capture; returns the panic's message and
/// the spans.
fn capture_panic(f: impl FnOnce()) -> (String, spanwright::testing::Captured) {
    let (result, spans) = capture(|| catch_unwind(AssertUnwindSafe(f)));
    let payload = result.expect_err("the panic went on");
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    (message, spans)
}

#[spanwright::span]
fn explode(message: &'static str) {
    panic!("{message}");
}

#[spanwright::span]
fn around(message: &'static str) {
    explode(message);
}

#[test]
fn a_replaced_hook_never_gives_a_span_another_panics_message() {
    let _hook = HOOK.lock().unwrap_or_else(|p| p.into_inner());
    // spanwright's hook is in place (installed by the capture): message and location.
    let (message, spans) = capture_panic(|| around("first failure"));
    assert_eq!(message, "first failure");
    for name in ["explode", "around"] {
        let event = exception(spans.named(name));
        assert_eq!(
            event.attr("exception.message"),
            Some(&Value::from("first failure"))
        );
        assert!(
            event.attr("code.line.number").is_some(),
            "{name}: {event:?}"
        );
    }

    // A hook installed later replaces spanwright's without calling it.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (message, spans) = capture_panic(|| around("second failure"));
    std::panic::set_hook(previous);
    assert_eq!(message, "second failure");
    for name in ["explode", "around"] {
        let span = spans.named(name);
        let event = exception(span);
        assert_eq!(
            event.attr("exception.message"),
            Some(&Value::from("second failure")),
            "{name} carries another panic's message"
        );
        // The hook did not see this panic: no location rather than the old one.
        assert_eq!(event.attr("code.line.number"), None, "{name}: {event:?}");
        assert_eq!(span.status, Status::error("second failure"));
    }
}

#[test]
fn a_panic_caught_inside_the_body_is_not_recorded_by_a_later_panic() {
    let _hook = HOOK.lock().unwrap_or_else(|p| p.into_inner());
    #[spanwright::span]
    fn recovers_then_fails() {
        let _ = catch_unwind(|| panic!("handled inside"));
        panic!("the real failure");
    }
    let (_, spans) = capture_panic(recovers_then_fails);
    let event = exception(spans.named("recovers_then_fails"));
    assert_eq!(
        event.attr("exception.message"),
        Some(&Value::from("the real failure"))
    );
}

struct PanickingDisplay;
impl fmt::Display for PanickingDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display exploded")
    }
}
impl fmt::Debug for PanickingDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PanickingDisplay")
    }
}

#[spanwright::traced_job]
fn fails_badly() -> Result<(), PanickingDisplay> {
    Err(PanickingDisplay)
}

#[test]
fn an_error_whose_display_panics_is_still_an_error() {
    let (message, spans) = capture_panic(|| {
        let _ = fails_badly();
    });
    assert_eq!(message, "Display exploded");
    let span = spans.named("fails_badly");
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    let error_type = span.attr("error.type").expect("error.type");
    assert!(
        error_type.as_str().ends_with("PanickingDisplay"),
        "{error_type}"
    );
    assert_eq!(span.attr("job.status"), Some(&Value::from("failed")));
    let event = exception(span);
    let text = event.attr("exception.message").unwrap().as_str();
    assert!(text.contains("Display exploded"), "{text}");
}

static BODY_RAN: AtomicUsize = AtomicUsize::new(0);

fn broken_value() -> u64 {
    panic!("attribute value exploded")
}

#[spanwright::span(attrs(ok = 1, broken = broken_value()))]
fn with_panicking_attribute() {
    BODY_RAN.fetch_add(1, Ordering::SeqCst);
}

#[spanwright::span(name = "render.{thing}")]
fn with_panicking_template(thing: &PanickingDisplay) {
    let _ = thing;
    BODY_RAN.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_panicking_attribute_or_name_template_still_makes_a_span() {
    let (message, spans) = capture_panic(with_panicking_attribute);
    assert_eq!(message, "attribute value exploded");
    let span = spans.named("with_panicking_attribute");
    assert_eq!(span.status, Status::error("attribute value exploded"));
    assert_eq!(span.attr("error.type"), Some(&Value::from("panic")));
    assert_eq!(span.attr("ok"), Some(&Value::I64(1)));

    let (message, spans) = capture_panic(|| with_panicking_template(&PanickingDisplay));
    assert_eq!(message, "Display exploded");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, Status::error("Display exploded"));
    assert_eq!(spans[0].attr("error.type"), Some(&Value::from("panic")));

    assert_eq!(BODY_RAN.load(Ordering::SeqCst), 0, "the body ran");
}

#[test]
fn wide_integer_lists_record_like_wide_integers() {
    #[spanwright::span(attrs(small = vec![1_u64, 2], big = vec![u64::MAX, 1], one = u64::MAX))]
    fn lists() {}
    let ((), spans) = capture(lists);
    let span = spans.named("lists");
    use spanwright::opentelemetry::Array;
    assert_eq!(
        span.attr("small"),
        Some(&Value::Array(Array::I64(vec![1, 2])))
    );
    assert_eq!(span.attr("one"), Some(&Value::from("18446744073709551615")));
    assert_eq!(
        span.attr("big"),
        Some(&Value::Array(Array::String(vec![
            "18446744073709551615".into(),
            "1".into()
        ])))
    );
}
