//! `#[traced_job]`'s `job.status` and `job.duration_ms`. Both are known only when
//! the job ends, and by then its span may hold as many attributes as the limit
//! allows. So a job's span starts with both as its first attributes
//! (placeholders, which always fit), and spanwright's span processors fill them
//! in as the span ends: the duration from the span's own start and end times, the
//! status handed over by the code that ends the span, on the same thread.

use opentelemetry::trace::{SpanId, SpanRef};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use std::cell::Cell;

const JOB_STATUS: Key = Key::from_static_str("job.status");
const JOB_DURATION: Key = Key::from_static_str("job.duration_ms");

thread_local! {
    /// The job span being ended on this thread, and its status.
    static ENDING: Cell<Option<(SpanId, &'static str)>> = const { Cell::new(None) };
}

/// The two placeholders a job's span starts with.
pub(crate) fn placeholders(attributes: &mut Vec<KeyValue>) {
    attributes.push(KeyValue::new(JOB_STATUS, "unknown"));
    attributes.push(KeyValue::new(JOB_DURATION, 0.0));
}

/// Ends a job's span with `status`.
pub(crate) fn end(span: &SpanRef<'_>, status: &'static str) {
    let id = span.span_context().span_id();
    let _ = ENDING.try_with(|ending| ending.set(Some((id, status))));
    // The processors see the span (and take the status) synchronously, in here.
    span.end();
    let _ = ENDING.try_with(|ending| ending.set(None));
}

/// Fills in a job span's placeholders; other spans pass untouched. Called by
/// every span processor spanwright builds, as the span ends.
pub(crate) fn complete(span: &mut SpanData) {
    let is_job = span
        .attributes
        .first()
        .is_some_and(|kv| kv.key == JOB_STATUS);
    if !is_job {
        return;
    }
    // Read, not taken: every processor of a list gets its own copy of the span.
    let ending = ENDING.try_with(Cell::get).ok().flatten();
    let millis = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let id = span.span_context.span_id();
    for kv in span.attributes.iter_mut().take(2) {
        if kv.key == JOB_STATUS {
            if let Some((_, status)) = ending.filter(|(ended, _)| *ended == id) {
                kv.value = Value::from(status);
            }
        } else if kv.key == JOB_DURATION {
            kv.value = Value::F64(millis);
        }
    }
}
