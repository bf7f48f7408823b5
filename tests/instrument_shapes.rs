//! Shapes and behaviours from `#[tracing::instrument]`'s record of what users
//! write, under `#[span]`: statements before a trailing async block, `impl Trait`
//! inside a `Result`, names from `macro_rules!` literals, user items that shadow
//! the names an expansion could use, hygienic local names, `crate = path`, and a
//! `parent = &temporary()` in an async function. Compiled in the edition-2024
//! tests crate and, through `tests-2021`, in an edition-2021 crate, under
//! `deny(warnings)` and clippy's default lints.
#![forbid(unsafe_code)]
#![deny(warnings)]
#![deny(clippy::all)]

use spanwright::opentelemetry::Value;
use spanwright::opentelemetry::trace::SpanId;
use spanwright::span;
use spanwright::testing::{SpanDataExt, capture, capture_async};
use spanwright_tests::block_on;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

#[span]
async fn child() -> u8 {
    1
}

/// Statements, then the async block: the span covers the block's execution.
#[span(attrs(n))]
pub fn prepared(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    let doubled = n * 2;
    Box::pin(async move { u64::from(child().await) + doubled })
}

#[test]
fn a_trailing_async_block_after_statements_is_instrumented() {
    // Built outside the capture: only its execution is inside.
    let future = prepared(3);
    let (value, spans) = block_on(capture_async(future));
    assert_eq!(value, 7);
    let span = spans.named("prepared");
    assert_eq!(span.attr("n"), Some(&Value::I64(3)));
    assert_eq!(
        spans.named("child").parent_span_id,
        span.span_context.span_id(),
        "spans inside the block are its children"
    );
}

/// Only the signature says what the error type is: the body never names it.
#[span]
async fn iter_ok() -> Result<impl Iterator<Item = i32>, ()> {
    Ok(vec![1, 2].into_iter())
}

#[span]
fn sync_iter_ok() -> Result<impl Iterator<Item = i32>, ()> {
    Ok(vec![1, 2].into_iter())
}

#[span]
async fn iter_or_unit(fail: bool) -> Result<impl Iterator<Item = i32>, ()> {
    if fail {
        Err(())
    } else {
        Ok(vec![1, 2].into_iter())
    }
}

#[test]
fn impl_trait_inside_a_result_records_the_error() {
    let (ok, spans) = capture(|| block_on(iter_or_unit(false)).map(Iterator::sum::<i32>));
    assert_eq!(ok, Ok(3));
    assert_eq!(spans[0].attr("error.type"), None);
    let (err, spans) = capture(|| block_on(iter_or_unit(true)).map(Iterator::sum::<i32>));
    assert_eq!(err, Err(()));
    assert_eq!(spans[0].attr("error.type"), Some(&Value::from("()")));
    let (ok, spans) = capture(|| block_on(iter_ok()).map(Iterator::sum::<i32>));
    assert_eq!(ok, Ok(3));
    assert_eq!(spans.len(), 1);
    let (ok, spans) = capture(|| sync_iter_ok().map(Iterator::sum::<i32>));
    assert_eq!(ok, Ok(3));
    assert_eq!(spans.len(), 1);
}

macro_rules! traced {
    ($name:literal, $function:ident) => {
        #[span(name = $name)]
        pub fn $function() -> u8 {
            1
        }
    };
}
traced!("named.by.macro", named_by_macro);

#[test]
fn a_name_from_a_macro_rules_literal() {
    let (_, spans) = capture(named_by_macro);
    assert_eq!(spans[0].name, "named.by.macro");
}

/// Items that shadow names an expansion might use.
pub mod shadowing {
    #![allow(non_camel_case_types, dead_code)]
    use spanwright::span;

    pub struct bool;
    pub struct Result;
    pub struct Option;
    pub struct Some;
    pub struct Box;

    #[span(attrs(x))]
    pub fn plain(x: u8) -> u8 {
        x + 1
    }
}

/// A glob import of variants in the body, one of them named like the return type.
pub mod variants {
    use spanwright::span;

    pub enum Answer {
        Result,
        Yes,
    }

    #[span]
    #[allow(clippy::result_unit_err)]
    pub async fn with_variants_in_scope(x: u8) -> Result<u8, ()> {
        use Answer::*;
        let _ = (Yes, Result);
        Ok(x)
    }
}

#[test]
fn shadowed_names_do_not_break_the_expansion() {
    let (value, spans) = capture(|| shadowing::plain(1));
    assert_eq!(value, 2);
    assert_eq!(spans.len(), 1);
    let (value, spans) = capture(|| block_on(variants::with_variants_in_scope(4)));
    assert_eq!(value, Ok(4));
    assert_eq!(spans.len(), 1);
}

/// Parameters named like the expansion's own locals are the user's.
#[span(attrs(span_arg = __spanwright_span, on_arg = __spanwright_on))]
pub fn local_names(__spanwright_span: u64, __spanwright_on: bool) -> u64 {
    if __spanwright_on {
        __spanwright_span
    } else {
        0
    }
}

#[test]
fn the_expansion_s_local_names_are_hygienic() {
    let (value, spans) = capture(|| local_names(7, true));
    assert_eq!(value, 7);
    assert_eq!(spans[0].attr("span_arg"), Some(&Value::I64(7)));
    assert_eq!(spans[0].attr("on_arg"), Some(&Value::Bool(true)));
}

/// A facade crate re-exporting spanwright.
pub mod facade {
    pub use spanwright;
}

#[span(crate = facade::spanwright, attrs(n))]
pub fn through_a_facade(n: u8) -> u8 {
    n
}

#[test]
fn crate_names_the_runtime_s_path() {
    let (_, spans) = capture(|| through_a_facade(5));
    assert_eq!(spans[0].attr("n"), Some(&Value::I64(5)));
}

/// A carrier that is not `Send`: held across the `.await`, it would make the
/// future `!Send`.
pub struct LocalCarrier(Rc<HashMap<String, String>>);

impl spanwright::opentelemetry::propagation::Extractor for LocalCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

fn make_headers() -> LocalCarrier {
    LocalCarrier(Rc::new(spanwright_tests::traceparent(
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )))
}

#[span(parent = &make_headers())]
pub async fn continues_a_temporary() -> u8 {
    child().await
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn a_temporary_carrier_is_dropped_before_the_await() {
    let future = assert_send(continues_a_temporary());
    let (value, spans) = block_on(capture_async(future));
    assert_eq!(value, 1);
    let span = spans.named("continues_a_temporary");
    assert_eq!(span.parent_span_id, SpanId::from(0x00f0_67aa_0ba9_02b7));
}

/// An `async fn` returning a future: clippy's `async_yields_async` stays quiet
/// on the expansion (this file is linted with `deny(clippy::all)`).
#[span]
pub async fn returns_a_future() -> impl Future<Output = u8> {
    async { 9 }
}

#[test]
fn an_async_fn_returning_a_future() {
    let (value, spans) = capture(|| block_on(async { returns_a_future().await.await }));
    assert_eq!(value, 9);
    assert_eq!(spans.len(), 1);
}

#[span]
#[track_caller]
pub fn where_called() -> &'static std::panic::Location<'static> {
    std::panic::Location::caller()
}

#[span(attrs(x))]
#[track_caller]
pub fn checked(x: i32) -> Result<i32, String> {
    if x < 0 {
        return Err(format!("{x} is negative"));
    }
    let parsed: i32 = "5".parse::<i32>().map_err(|e| e.to_string())?;
    let one = Some(1).ok_or("none")?;
    Ok(x + parsed + one)
}

#[span]
#[track_caller]
pub fn first_even(values: &[i32]) -> Option<i32> {
    let first = values.first()?;
    if first % 2 == 0 {
        return Some(*first);
    }
    values.iter().copied().find(|v| v % 2 == 0)
}

#[span]
#[track_caller]
pub fn positive(x: i32) -> i32 {
    assert!(x > 0, "{x} is not positive");
    x
}

#[test]
fn track_caller_still_reports_the_caller() {
    #[rustfmt::skip]
    let ((location, spans), line) = (capture(|| where_called()), line!());
    assert_eq!((location.file(), location.line()), (file!(), line));
    assert_eq!(spans.len(), 1);
}

#[test]
fn track_caller_keeps_return_and_question_mark() {
    let (value, spans) = capture(|| checked(1));
    assert_eq!(value, Ok(7));
    assert_eq!(spans[0].attr("error.type"), None);
    let (value, spans) = capture(|| checked(-2));
    assert_eq!(value, Err("-2 is negative".to_string()));
    assert_eq!(
        spans[0].status,
        spanwright::opentelemetry::trace::Status::error("-2 is negative")
    );
    let (found, _) = capture(|| first_even(&[3, 5, 8]));
    assert_eq!(found, Some(8));
    let (found, spans) = capture(|| first_even(&[]));
    assert_eq!(found, None);
    assert_eq!(spans.len(), 1);
}

#[test]
fn a_track_caller_panic_is_located_at_the_caller() {
    let line = line!() + 1;
    let (result, spans) = capture(|| std::panic::catch_unwind(|| positive(-1)));
    assert!(result.is_err());
    let event = spans[0]
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    assert_eq!(
        event.attr("exception.message"),
        Some(&Value::from("-1 is not positive"))
    );
    assert_eq!(
        event.attr("code.line.number"),
        Some(&Value::I64(i64::from(line))),
        "the panic's location is the caller's"
    );
}

/// `?` on `std::ops::ControlFlow`, in a closure-run body and in a
/// `#[track_caller]` one.
#[span(attrs(limit))]
pub fn first_over(values: &[u32], limit: u32) -> std::ops::ControlFlow<u32, usize> {
    let mut seen = 0;
    for value in values {
        over(*value, limit)?;
        seen += 1;
    }
    std::ops::ControlFlow::Continue(seen)
}

#[span]
#[track_caller]
pub fn first_over_tracked(values: &[u32], limit: u32) -> std::ops::ControlFlow<u32, usize> {
    let mut seen = 0;
    for value in values {
        over(*value, limit)?;
        seen += 1;
    }
    std::ops::ControlFlow::Continue(seen)
}

fn over(value: u32, limit: u32) -> std::ops::ControlFlow<u32> {
    if value > limit {
        std::ops::ControlFlow::Break(value)
    } else {
        std::ops::ControlFlow::Continue(())
    }
}

#[test]
fn question_mark_on_control_flow() {
    use std::ops::ControlFlow::{Break, Continue};
    for f in [first_over, first_over_tracked] {
        let (found, spans) = capture(|| f(&[1, 9, 3], 5));
        assert_eq!(found, Break(9));
        assert_eq!(spans.len(), 1);
        let (found, _) = capture(|| f(&[1, 2], 5));
        assert_eq!(found, Continue(2));
    }
}

/// A `return` the macro cannot see: inside a macro invocation.
macro_rules! bail {
    ($error:expr) => {
        return Err($error)
    };
}

#[span(status_ok)]
#[track_caller]
pub fn leaves_unseen(fail: bool) -> Result<u8, String> {
    if fail {
        bail!(String::from("refused"));
    }
    Ok(1)
}

#[spanwright::traced_job(name = "jobs.unseen")]
#[track_caller]
pub fn job_leaves_unseen(fail: bool) -> Result<u8, String> {
    if fail {
        bail!(String::from("refused"));
    }
    Ok(1)
}

#[test]
fn an_exit_the_macro_cannot_see_claims_no_outcome() {
    use spanwright::opentelemetry::trace::Status;
    let (value, spans) = capture(|| leaves_unseen(true));
    assert_eq!(value, Err(String::from("refused")));
    assert_eq!(
        spans[0].status,
        Status::Unset,
        "not Ok: the value was never seen"
    );
    let (value, spans) = capture(|| leaves_unseen(false));
    assert_eq!(value, Ok(1));
    assert_eq!(spans[0].status, Status::Ok);
    let (_, spans) = capture(|| job_leaves_unseen(true));
    assert_eq!(spans[0].attr("job.status"), Some(&Value::from("unknown")));
    let (_, spans) = capture(|| job_leaves_unseen(false));
    assert_eq!(spans[0].attr("job.status"), Some(&Value::from("completed")));
}
