//! A started span until its end: outcome recording (error, panic, cancellation).

use crate::pipeline::clock;
use crate::span::panic_capture::{self as panic, PanicRecord};
use crate::span::site::{JOB_STATUS, Site};
use opentelemetry::trace::{SpanRef, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};
use std::any::Any;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

const RETURN_VALUE: Key = Key::from_static_str("return.value");
const ERROR_TYPE: Key = Key::from_static_str("error.type");
const EXCEPTION_TYPE: Key = Key::from_static_str("exception.type");
const EXCEPTION_MESSAGE: Key = Key::from_static_str("exception.message");
const CANCELLED: Key = Key::from_static_str("cancelled");
/// `error.type` of a panic.
const PANIC: Cow<'static, str> = Cow::Borrowed("panic");

/// How an annotated function's call ended, as the generated code classifies its
/// return value.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The returned `Err`, if any.
    pub failure: Option<Failure>,
    /// The value for `return.value` (with `ret`).
    pub ret: Option<Value>,
    /// More attributes the outcome sets (an HTTP response's status code).
    pub attributes: Vec<KeyValue>,
}

/// A returned error.
#[derive(Debug)]
pub struct Failure {
    /// `error.type` and `exception.type`: the error's type name.
    pub type_name: Cow<'static, str>,
    /// The status description and `exception.message`.
    pub message: String,
    /// The panic of the error's `Display` (or `Debug`), re-thrown once the span
    /// has recorded what it could.
    pub panic: Option<Box<dyn Any + Send>>,
    /// Record an `exception` event: an error value was returned. A 5xx
    /// response is a failure without an exception (none happened).
    pub exception: bool,
}

/// A started span (possibly not sampled) that ends exactly once: by
/// [`Recording::finish`], when a panic ends it, or when dropped
/// unfinished (a cancelled future).
#[derive(Debug)]
pub struct Recording {
    cx: Option<Context>,
    /// `None` for a span the sampler dropped: nothing to record, only to end
    /// (unless its end records metrics). Known at start, so the end need not
    /// lock the span to ask.
    site: Option<&'static Site>,
    /// When the end records metrics (a job or a `metrics` function, a meter
    /// installed), the span's start as Unix nanoseconds; 0 otherwise.
    #[cfg(feature = "metrics")]
    metered_since: u64,
}

impl Recording {
    pub(crate) fn new(cx: Context, site: Option<&'static Site>) -> Self {
        Recording {
            cx: Some(cx),
            site,
            #[cfg(feature = "metrics")]
            metered_since: 0,
        }
    }

    /// A span of `site` that started at `start`, `recorded` or dropped by the
    /// sampler; when `metered`, its end records the site's metrics.
    pub(crate) fn started(
        cx: Context,
        site: &'static Site,
        recorded: bool,
        metered: bool,
        start: std::time::SystemTime,
    ) -> Self {
        #[cfg(feature = "metrics")]
        if metered {
            return Recording::metered(cx, site, start);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (metered, start);
        Recording::new(cx, recorded.then_some(site))
    }

    /// A span whose end records the metrics of `site`, sampled or not: the
    /// outcome is classified even for a span the sampler dropped.
    #[cfg(feature = "metrics")]
    fn metered(cx: Context, site: &'static Site, start: std::time::SystemTime) -> Self {
        Recording {
            cx: Some(cx),
            site: Some(site),
            metered_since: crate::pipeline::clock::unix_nanos(start).max(1),
        }
    }

    /// The span's context (its ids; invalid once ended).
    #[cfg(all(feature = "metrics", feature = "http"))]
    pub(crate) fn span_context(&self) -> opentelemetry::trace::SpanContext {
        self.cx
            .as_ref()
            .map(|cx| cx.span().span_context().clone())
            .unwrap_or_else(opentelemetry::trace::SpanContext::empty_context)
    }

    /// Makes the span the current context on this thread. Out of line: one copy,
    /// not one in every annotated function.
    #[inline(never)]
    pub(crate) fn attach(&self) -> Option<ContextGuard> {
        panic::forget_finished();
        self.cx.as_ref().map(|cx| cx.clone().attach())
    }

    /// Records the function's outcome and ends the span. `classify` runs only
    /// when the span is recording, or when its end records metrics (a span the
    /// sampler dropped is still counted, by outcome). A panic while classifying
    /// (an error's `Display`, a `ret` value's `Debug`) is recorded, then goes on.
    ///
    /// A thin generic shell: only the classification is compiled once per
    /// annotated function; the recording code is compiled once.
    #[inline]
    pub fn finish<T>(self, value: &T, classify: impl FnOnce(&T) -> Outcome) {
        let mut classify = Some(classify);
        self.finish_dyn(&mut |outcome: &mut Option<Outcome>| {
            if let Some(classify) = classify.take() {
                *outcome = Some(classify(value));
            }
        });
    }

    fn finish_dyn(mut self, classify: &mut dyn FnMut(&mut Option<Outcome>)) {
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        let Some(site) = self.site else {
            span.end();
            return;
        };
        let mut classified = None;
        let outcome = match catch_unwind(AssertUnwindSafe(|| classify(&mut classified))) {
            Ok(()) => classified.unwrap_or_default(),
            Err(payload) => {
                record_panic(&span, panic::describe(&*payload));
                self.end(&cx, "panicked", Some(PANIC));
                resume_unwind(payload);
            }
        };
        let Applied {
            job_status,
            error_type,
            rethrow,
        } = apply_outcome(&span, site, outcome);
        self.end(&cx, job_status, error_type);
        if let Some(payload) = rethrow {
            resume_unwind(payload);
        }
    }

    /// Records what is known of the outcome before the span ends (an HTTP
    /// response's head, when its body is still to be sent).
    #[cfg(feature = "http")]
    pub(crate) fn record_early(&self, outcome: Outcome) {
        if let (Some(cx), Some(site)) = (&self.cx, self.site) {
            let _ = apply_outcome(&cx.span(), site, outcome);
        }
    }

    /// Ends the span as panicked with the panic whose payload was caught.
    pub(crate) fn end_panicked(mut self, payload: &(dyn Any + Send)) {
        let Some(cx) = self.cx.take() else { return };
        if self.site.is_some() {
            record_panic(&cx.span(), panic::describe(payload));
        }
        self.end(&cx, "panicked", Some(PANIC));
    }

    /// Ends the span as panicked from a drop guard during unwinding, where the
    /// payload cannot be seen: what the panic hook saw of this panic, if anything.
    pub(crate) fn end_unwinding(mut self) {
        let Some(cx) = self.cx.take() else { return };
        if self.site.is_some() {
            record_panic(&cx.span(), panic::describe_unwinding());
        }
        self.end(&cx, "panicked", Some(PANIC));
    }

    /// Ends the span without claiming success or failure: status Unset (even
    /// with `status_ok`), a job's `job.status` is `unknown`.
    pub(crate) fn end_unknown(mut self) {
        if let Some(cx) = self.cx.take() {
            self.end(&cx, "unknown", None);
        }
    }

    /// Ends the span; a job's span with its `job.status` (which a record
    /// keeps apart, first among its attributes when exported), and records the
    /// call's metrics from the same end time.
    fn end(&self, cx: &Context, job_status: &'static str, error_type: Option<Cow<'static, str>>) {
        let span = cx.span();
        if self.site.is_some_and(|site| site.job) {
            span.set_attribute(KeyValue::new(JOB_STATUS, job_status));
        }
        let end = clock::now();
        span.end_with_timestamp(end);
        #[cfg(feature = "metrics")]
        if let (since @ 1.., Some(site)) = (self.metered_since, self.site) {
            record_metrics(cx, site, since, end, job_status, error_type);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = error_type;
    }
}

impl Drop for Recording {
    /// Unfinished at drop: the future was dropped before completing.
    fn drop(&mut self) {
        if let Some(cx) = self.cx.take() {
            cx.span().set_attribute(KeyValue::new(CANCELLED, true));
            self.end(&cx, "cancelled", None);
        }
    }
}

/// Records the metrics of a call that ended at `end`, into the installed meter.
#[cfg(feature = "metrics")]
#[cold]
#[inline(never)]
fn record_metrics(
    cx: &Context,
    site: &'static Site,
    since: u64,
    end: std::time::SystemTime,
    status: &'static str,
    error_type: Option<Cow<'static, str>>,
) {
    use crate::metrics::record::{CallEnd, call_ended, exemplar};
    let Some(meter) = crate::span::tracer::installed_meter() else {
        return;
    };
    let end = crate::pipeline::clock::unix_nanos(end);
    let seconds = end.saturating_sub(since) as f64 / 1e9;
    let exemplar = exemplar(cx.span().span_context(), seconds, end);
    call_ended(
        &meter,
        site,
        CallEnd {
            status,
            error_type,
            seconds,
            exemplar,
        },
    );
}

/// Ends a span whose attribute code panicked: the span records the panic and
/// ends; the panic goes on, and the body never runs.
#[cold]
#[inline(never)]
pub(crate) fn end_with_panic(recording: Recording, payload: Box<dyn Any + Send>) -> ! {
    recording.end_panicked(&*payload);
    resume_unwind(payload)
}

/// Sets what an outcome says on the span: the return value, attributes, and a
/// failure (status Error, `error.type`, and an `exception` event when an error
/// value was returned).
fn apply_outcome(span: &SpanRef<'_>, site: &Site, outcome: Outcome) -> Applied {
    if let Some(ret) = outcome.ret {
        span.set_attribute(KeyValue::new(RETURN_VALUE, ret));
    }
    if outcome.attributes.is_empty() {
        drop_list(outcome.attributes);
    } else {
        span.set_attributes(outcome.attributes);
    }
    match outcome.failure {
        Some(failure) if failure.exception => {
            let error_type = failure.type_name.clone();
            record_exception(span, failure.type_name, failure.message, Vec::new());
            Applied::failed(error_type, failure.panic)
        }
        Some(failure) => {
            let error_type = failure.type_name.clone();
            span.set_attribute(KeyValue::new(ERROR_TYPE, failure.type_name));
            span.set_status(Status::error(failure.message));
            Applied::failed(error_type, failure.panic)
        }
        None => {
            if site.status_ok {
                span.set_status(Status::Ok);
            }
            Applied {
                job_status: "completed",
                error_type: None,
                rethrow: None,
            }
        }
    }
}

/// Drops a list on the hot path: one that never allocated (most spans' extra
/// attributes) without the out-of-line call that dropping any list makes
/// (measured: ~24 instructions each).
#[inline(always)]
pub(crate) fn drop_list<T>(list: Vec<T>) {
    if list.capacity() == 0 {
        // Nothing to drop and nothing to free.
        std::mem::forget(list);
    } else {
        drop(list);
    }
}

/// What an outcome made of the span: the job status, the error's type, and a
/// panic to re-throw (of an error's `Display`).
struct Applied {
    job_status: &'static str,
    error_type: Option<Cow<'static, str>>,
    rethrow: Option<Box<dyn Any + Send>>,
}

impl Applied {
    fn failed(error_type: Cow<'static, str>, rethrow: Option<Box<dyn Any + Send>>) -> Self {
        Applied {
            job_status: "failed",
            error_type: Some(error_type),
            rethrow,
        }
    }
}

/// Records a panic: status Error, `error.type` = `panic`, and an `exception`
/// event with the message and, when known, the location.
pub(crate) fn record_panic(span: &SpanRef<'_>, panic: PanicRecord) {
    let mut location = Vec::with_capacity(3);
    if let Some(at) = panic.location {
        location.push(KeyValue::new("code.file.path", at.file));
        location.push(KeyValue::new("code.line.number", i64::from(at.line)));
        location.push(KeyValue::new("code.column.number", i64::from(at.column)));
    }
    record_exception(span, PANIC, panic.message, location);
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
    span.add_event_with_timestamp("exception", clock::now(), event_attributes);
    span.set_status(Status::error(message));
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recording_stays_small() {
        // It moves by value through every recorded sync call (and is boxed in a
        // future). The `metrics` feature adds the start of a metered call.
        let budget = if cfg!(feature = "metrics") { 40 } else { 32 };
        assert!(std::mem::size_of::<Option<super::Recording>>() <= budget);
    }
}
