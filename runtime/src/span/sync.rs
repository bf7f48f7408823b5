//! The sync runner: dispatches on the enabled flag and keeps the span current
//! around an annotated sync function's body.

use crate::span::recording::{Outcome, Recording};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Calls an annotated sync function's instrumented body: `call(false)` when
/// recording is off, so that the inlined call folds down to the plain body, and
/// `call(true)` out of line when it is on.
#[inline(always)]
pub fn dispatch<R>(call: impl FnOnce(bool) -> R) -> R {
    if crate::span::switch::enabled() {
        dispatch_enabled(call)
    } else {
        call(false)
    }
}

#[inline(never)]
fn dispatch_enabled<R>(call: impl FnOnce(bool) -> R) -> R {
    call(true)
}

/// Runs a sync function body, inside its span when there is one.
#[inline(always)]
pub fn run_sync<R>(
    recording: Option<Recording>,
    body: impl FnOnce() -> R,
    classify: impl FnOnce(&R) -> Outcome,
) -> R {
    match recording {
        None => body(),
        Some(recording) => run_recorded(recording, body, classify),
    }
}

fn run_recorded<R>(
    recording: Recording,
    body: impl FnOnce() -> R,
    classify: impl FnOnce(&R) -> Outcome,
) -> R {
    let current = recording.attach();
    // The payload is caught to read the panic's own message, then re-thrown as is.
    let result = catch_unwind(AssertUnwindSafe(body));
    drop(current);
    match result {
        Ok(value) => {
            recording.finish(&value, classify);
            value
        }
        Err(payload) => end_panicked(recording, payload),
    }
}

/// Not generic: compiled once, not in every annotated function.
#[cold]
#[inline(never)]
fn end_panicked(recording: Recording, payload: Box<dyn std::any::Any + Send>) -> ! {
    recording.end_panicked(&*payload);
    resume_unwind(payload)
}

/// The span of a `#[track_caller]` function, whose body runs inline (a closure
/// would hide the caller's location): current while it lives, ended by
/// [`Scope::finish`], or on drop when the body panicked or returned through a
/// path the macro could not see (a `return` inside a macro invocation).
#[must_use]
pub struct Scope {
    recording: Option<Recording>,
    current: Option<opentelemetry::ContextGuard>,
}

impl Scope {
    /// Makes the span current.
    #[inline]
    pub fn enter(recording: Option<Recording>) -> Self {
        let current = recording.as_ref().and_then(Recording::attach);
        Scope { recording, current }
    }

    /// Records the outcome and ends the span.
    #[inline]
    pub fn finish<R>(mut self, value: &R, classify: impl FnOnce(&R) -> Outcome) {
        self.current.take();
        if let Some(recording) = self.recording.take() {
            recording.finish(value, classify);
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.current.take();
        if let Some(recording) = self.recording.take() {
            if std::thread::panicking() {
                recording.end_unwinding();
            } else {
                // Left through a `return` or `?` the macro could not see (inside a
                // macro invocation): the value is unknown, so is the outcome.
                recording.end_unknown();
            }
        }
    }
}

/// `?` in an annotated sync function, which the macro rewrites (the `Try` trait
/// is not stable): `Result`, `Option`, `ControlFlow`, and `Poll` of a `Result`.
pub trait Branch {
    /// The value `?` produces.
    type Output;
    /// What `?` hands on when it leaves.
    type Residual;
    /// Continue with the value, or leave with the residual.
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<std::convert::Infallible, E>;
    #[inline]
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, T> {
        match self {
            Ok(value) => std::ops::ControlFlow::Continue(value),
            Err(error) => std::ops::ControlFlow::Break(Err(error)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<std::convert::Infallible>;
    #[inline]
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, T> {
        match self {
            Some(value) => std::ops::ControlFlow::Continue(value),
            None => std::ops::ControlFlow::Break(None),
        }
    }
}

impl<B, C> Branch for std::ops::ControlFlow<B, C> {
    type Output = C;
    type Residual = std::ops::ControlFlow<B, std::convert::Infallible>;
    #[inline]
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, C> {
        match self {
            std::ops::ControlFlow::Continue(value) => std::ops::ControlFlow::Continue(value),
            std::ops::ControlFlow::Break(value) => {
                std::ops::ControlFlow::Break(std::ops::ControlFlow::Break(value))
            }
        }
    }
}

impl<T, E> Branch for std::task::Poll<Result<T, E>> {
    type Output = std::task::Poll<T>;
    type Residual = Result<std::convert::Infallible, E>;
    #[inline]
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, Self::Output> {
        match self {
            std::task::Poll::Ready(Ok(value)) => {
                std::ops::ControlFlow::Continue(std::task::Poll::Ready(value))
            }
            std::task::Poll::Ready(Err(error)) => std::ops::ControlFlow::Break(Err(error)),
            std::task::Poll::Pending => std::ops::ControlFlow::Continue(std::task::Poll::Pending),
        }
    }
}

impl<T, E> Branch for std::task::Poll<Option<Result<T, E>>> {
    type Output = std::task::Poll<Option<T>>;
    type Residual = Result<std::convert::Infallible, E>;
    #[inline]
    fn branch(self) -> std::ops::ControlFlow<Self::Residual, Self::Output> {
        use std::task::Poll;
        match self {
            Poll::Ready(Some(Ok(value))) => {
                std::ops::ControlFlow::Continue(Poll::Ready(Some(value)))
            }
            Poll::Ready(Some(Err(error))) => std::ops::ControlFlow::Break(Err(error)),
            Poll::Ready(None) => std::ops::ControlFlow::Continue(Poll::Ready(None)),
            Poll::Pending => std::ops::ControlFlow::Continue(Poll::Pending),
        }
    }
}

impl<T, E, F: From<E>> FromResidual<Result<std::convert::Infallible, E>>
    for std::task::Poll<Result<T, F>>
{
    #[inline]
    fn from_residual(residual: Result<std::convert::Infallible, E>) -> Self {
        match residual {
            Err(error) => std::task::Poll::Ready(Err(From::from(error))),
        }
    }
}

impl<T, E, F: From<E>> FromResidual<Result<std::convert::Infallible, E>>
    for std::task::Poll<Option<Result<T, F>>>
{
    #[inline]
    fn from_residual(residual: Result<std::convert::Infallible, E>) -> Self {
        match residual {
            Err(error) => std::task::Poll::Ready(Some(Err(From::from(error)))),
        }
    }
}

/// The function's return value made from what `?` left with.
#[diagnostic::on_unimplemented(
    message = "this `?` cannot return from a function that returns `{Self}`",
    label = "`?` here would return `{R}`",
    note = "`?` on a `Result` needs the function to return a `Result` whose error type converts `From` it; `?` on an `Option` needs it to return an `Option`",
    note = "use `.ok_or(..)?` to turn an `Option` into a `Result`, or `.ok()?` for the other way round"
)]
pub trait FromResidual<R> {
    /// Converts the residual, as `?` does.
    fn from_residual(residual: R) -> Self;
}

impl<T, E, F: From<E>> FromResidual<Result<std::convert::Infallible, E>> for Result<T, F> {
    #[inline]
    fn from_residual(residual: Result<std::convert::Infallible, E>) -> Self {
        match residual {
            Err(error) => Err(From::from(error)),
        }
    }
}

impl<B, C> FromResidual<std::ops::ControlFlow<B, std::convert::Infallible>>
    for std::ops::ControlFlow<B, C>
{
    #[inline]
    fn from_residual(residual: std::ops::ControlFlow<B, std::convert::Infallible>) -> Self {
        match residual {
            std::ops::ControlFlow::Break(value) => std::ops::ControlFlow::Break(value),
        }
    }
}

impl<T> FromResidual<Option<std::convert::Infallible>> for Option<T> {
    #[inline]
    fn from_residual(_: Option<std::convert::Infallible>) -> Self {
        None
    }
}
