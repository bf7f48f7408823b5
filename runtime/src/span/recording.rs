//! A started span until its end: outcome recording (error, panic, cancellation).

use crate::context::panic;
use crate::span::site::Site;
use opentelemetry::trace::{SpanRef, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};
use std::borrow::Cow;
use std::time::Instant;

/// When a job started: kept in the job's context, not in every recording, so an
/// annotated async function's future stays small.
#[derive(Debug)]
pub(crate) struct JobStarted(pub(crate) Instant);

const RETURN_VALUE: Key = Key::from_static_str("return.value");
const ERROR_TYPE: Key = Key::from_static_str("error.type");
const EXCEPTION_TYPE: Key = Key::from_static_str("exception.type");
const EXCEPTION_MESSAGE: Key = Key::from_static_str("exception.message");
const CANCELLED: Key = Key::from_static_str("cancelled");
const JOB_STATUS: Key = Key::from_static_str("job.status");
const JOB_DURATION: Key = Key::from_static_str("job.duration_ms");

/// How an annotated function's call ended, as the generated code classifies its
/// return value.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The returned `Err`, if any.
    pub failure: Option<Failure>,
    /// The value for `return.value` (with `ret`).
    pub ret: Option<Value>,
}

/// A returned error.
#[derive(Debug)]
pub struct Failure {
    /// `error.type` and `exception.type`: the error's type name.
    pub type_name: Cow<'static, str>,
    /// The status description and `exception.message`.
    pub message: String,
}

/// A started span (possibly not sampled) that ends exactly once: by
/// [`Recording::finish`], or when dropped unfinished (a cancelled future).
#[derive(Debug)]
pub struct Recording {
    cx: Option<Context>,
    /// `None` for a span the sampler dropped: nothing to record, only to end. Known
    /// at start, so the end need not lock the span to ask.
    site: Option<&'static Site>,
}

impl Recording {
    pub(crate) fn new(cx: Context, site: Option<&'static Site>) -> Self {
        Recording { cx: Some(cx), site }
    }

    /// Makes the span the current context on this thread.
    #[inline]
    pub(crate) fn attach(&self) -> Option<ContextGuard> {
        self.cx.as_ref().map(|cx| cx.clone().attach())
    }

    /// Records the function's outcome and ends the span. `classify` runs only when
    /// the span is recording.
    pub fn finish<T>(mut self, value: &T, classify: impl FnOnce(&T) -> Outcome) {
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        let Some(site) = self.site else {
            span.end();
            return;
        };
        let outcome = classify(value);
        if let Some(ret) = outcome.ret {
            span.set_attribute(KeyValue::new(RETURN_VALUE, ret));
        }
        let job_status = match outcome.failure {
            Some(failure) => {
                record_exception(&span, failure.type_name, failure.message, Vec::new());
                "failed"
            }
            None => {
                if site.status_ok {
                    span.set_status(Status::Ok);
                }
                "completed"
            }
        };
        self.end(&cx, job_status);
    }

    /// Ends the span as panicked, with the panic's message and location.
    pub(crate) fn end_panicked(mut self) {
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        if self.site.is_some() {
            let panic = panic::last_panic();
            let mut location = Vec::with_capacity(3);
            if let Some(file) = panic.file {
                location.push(KeyValue::new("code.file.path", file));
            }
            if let Some(line) = panic.line {
                location.push(KeyValue::new("code.line.number", i64::from(line)));
            }
            if let Some(column) = panic.column {
                location.push(KeyValue::new("code.column.number", i64::from(column)));
            }
            record_exception(&span, Cow::Borrowed("panic"), panic.message, location);
        }
        self.end(&cx, "panicked");
    }

    fn end(&self, cx: &Context, job_status: &'static str) {
        let span = cx.span();
        if self.site.is_some_and(|site| site.job) {
            span.set_attribute(KeyValue::new(JOB_STATUS, job_status));
            if let Some(JobStarted(started)) = cx.get::<JobStarted>() {
                let millis = started.elapsed().as_secs_f64() * 1000.0;
                span.set_attribute(KeyValue::new(JOB_DURATION, millis));
            }
        }
        span.end();
    }
}

impl Drop for Recording {
    /// Unfinished at drop: the future was dropped before completing.
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            cx.span().set_attribute(KeyValue::new(CANCELLED, true));
            self.end(&cx, "cancelled");
        }
    }
}

/// Records an error the OpenTelemetry way: status Error with the message,
/// `error.type`, and an `exception` event.
pub(crate) fn record_exception(
    span: &SpanRef<'_>,
    type_name: Cow<'static, str>,
    message: String,
    mut event_attributes: Vec<KeyValue>,
) {
    span.set_attribute(KeyValue::new(ERROR_TYPE, type_name.clone()));
    event_attributes.push(KeyValue::new(EXCEPTION_TYPE, type_name));
    event_attributes.push(KeyValue::new(EXCEPTION_MESSAGE, message.clone()));
    span.add_event("exception", event_attributes);
    span.set_status(Status::error(message));
}

/// Ends the span as panicked if dropped while armed: only unwinding drops it,
/// the normal path forgets it.
pub(crate) struct EndOnUnwind<'a>(pub(crate) &'a mut Option<Recording>);

impl Drop for EndOnUnwind<'_> {
    fn drop(&mut self) {
        if let Some(recording) = self.0.take() {
            recording.end_panicked();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recording_fits_in_32_bytes() {
        // It lives inside every annotated async function's future.
        assert!(std::mem::size_of::<Option<super::Recording>>() <= 32);
    }
}
