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
        Err(payload) => {
            recording.end_panicked(&*payload);
            resume_unwind(payload)
        }
    }
}
