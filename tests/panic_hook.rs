//! A span never carries another panic's message or location, also after a hook
//! installed later replaced spanwright's (its own binary: the panic hook is
//! process-wide).

use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::Status;
use spanwright::opentelemetry_sdk::trace::SpanData;
use spanwright::testing::{SpanDataExt, capture};
use std::panic::catch_unwind;

#[spanwright::span]
fn first() {
    panic!("first panic");
}

#[spanwright::span]
fn same_text() {
    panic!("same text");
}

#[spanwright::span]
#[track_caller]
fn tracked() {
    panic!("tracked panic");
}

fn exception(span: &SpanData) -> (Option<Value>, Option<Value>) {
    let event = span.event("exception").expect("an exception event");
    (
        event.attr("exception.message").cloned(),
        event.attr("code.line.number").cloned(),
    )
}

#[test]
fn records_are_never_taken_for_a_later_panic() {
    // Spanwright's hook (installed by the capture) sees the first panic, which
    // unwinds through a span, and a panic with the same text caught outside any span.
    let (result, spans) = capture(|| catch_unwind(first));
    assert!(result.is_err());
    let (message, line) = exception(&spans[0]);
    assert_eq!(message, Some(Value::from("first panic")));
    assert!(line.is_some(), "located while spanwright's hook runs");
    let caught_outside = line!() + 1;
    assert!(catch_unwind(|| panic!("same text")).is_err());

    // A hook installed later replaces spanwright's without calling it.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));

    // Same text, another panic: not located at the panic caught outside.
    let (_, spans) = capture(|| catch_unwind(same_text));
    let (message, line) = exception(&spans[0]);
    assert_eq!(message, Some(Value::from("same text")));
    assert_ne!(line, Some(Value::I64(i64::from(caught_outside))));
    assert_eq!(line, None, "no location beats a wrong one");

    // A `#[track_caller]` function's panic is seen by its drop guard, which has
    // no payload: it must not be told an earlier panic's message.
    let (_, spans) = capture(|| catch_unwind(tracked));
    let (message, line) = exception(&spans[0]);
    let message = message.map(|m| m.as_str().into_owned()).unwrap_or_default();
    assert!(
        !message.contains("first panic") && !message.contains("same text"),
        "another panic's message: {message}"
    );
    assert!(message.contains("not captured"), "{message}");
    assert_eq!(line, None);
    assert!(matches!(spans[0].status, Status::Error { .. }));
}
