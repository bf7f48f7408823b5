//! The least a span can cost on the calling thread while the current
//! OpenTelemetry `Context` holds a handle to it (what lets hand-written
//! `get_active_span(|s| s.set_attribute(..))` land on the span): a measuring
//! stick for the enabled path, not a tracer. Ids from a thread-local xorshift,
//! the wall clock read twice, both arguments copied into a small record held
//! in the handle itself, the handle in the context (OpenTelemetry's box and
//! `Arc`), attached for the body, ended through the context's `SpanRef`, the
//! record pushed onto a locked list. No sampler, limits, outcome, panic or
//! cancellation handling, metrics switch or source location, and the wall
//! clock read as it is (the contract asks for a monotonic one converted to
//! Unix time, which costs more): everything `#[span]` does beyond this is
//! extra work. Its allocations are the system allocator's (glibc here).

use spanwright::opentelemetry::trace::{
    Span, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    get_active_span,
};
use spanwright::opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Mutex;
use std::time::SystemTime;

/// A span's record: what an exporter needs of the benchmark function's span
/// beyond its name and kind, which are the function's.
#[derive(Debug)]
// Written for an exporter; this measuring stick has none.
#[allow(dead_code)]
struct Record {
    trace: TraceId,
    span: SpanId,
    parent: SpanId,
    start: SystemTime,
    end: SystemTime,
    a: i64,
    b_len: u8,
    b: [u8; 22],
    /// What hand-written code sets through `get_active_span`.
    attributes: Vec<KeyValue>,
    status: Status,
}

/// Ended records; emptied whenever it would grow, so that pushes never allocate.
static ENDED: Mutex<Vec<Record>> = Mutex::new(Vec::new());
const ENDED_ROOM: usize = 4096;

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

fn next_id() -> u64 {
    SEED.with(|seed| {
        let mut x = seed.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seed.set(x);
        x
    })
}

#[derive(Debug)]
struct Handle {
    context: SpanContext,
    record: Option<Record>,
}

impl Span for Handle {
    fn add_event_with_timestamp<T>(&mut self, _: T, _: SystemTime, _: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(record) = &mut self.record {
            record.attributes.push(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(record) = &mut self.record {
            record.status = status;
        }
    }

    fn update_name<T>(&mut self, _: T)
    where
        T: Into<Cow<'static, str>>,
    {
    }

    fn add_link(&mut self, _: SpanContext, _: Vec<KeyValue>) {}

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(mut record) = self.record.take() {
            record.end = timestamp;
            push(record);
        }
    }
}

/// A new span's context and record, child of the current span.
#[inline(always)]
fn open(parent: &Context, a: u64, b: &str) -> (SpanContext, Record) {
    let parent_span = parent.span();
    let parent_context = parent_span.span_context();
    let (trace_id, parent_id) = if parent_context.is_valid() {
        (parent_context.trace_id(), parent_context.span_id())
    } else {
        let id = (u128::from(next_id()) << 64) | u128::from(next_id());
        (TraceId::from(id), SpanId::INVALID)
    };
    let span_id = SpanId::from(next_id());
    let context = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let mut text = [0; 22];
    let b_len = b.len().min(22);
    text[..b_len].copy_from_slice(&b.as_bytes()[..b_len]);
    let start = SystemTime::now();
    let record = Record {
        trace: trace_id,
        span: span_id,
        parent: parent_id,
        start,
        end: start,
        a: a as i64,
        b_len: b_len as u8,
        b: text,
        attributes: Vec::new(),
        status: Status::Unset,
    };
    (context, record)
}

fn push(record: Record) {
    let mut ended = ENDED.lock().unwrap_or_else(|p| p.into_inner());
    if ended.len() == ended.capacity() {
        ended.clear();
        ended.reserve(ENDED_ROOM);
    }
    ended.push(record);
}

/// The benchmark function's body, in that least span: a handle in the context.
#[inline(never)]
pub fn call(a: u64, b: &str) -> usize {
    let parent = Context::current();
    let (context, record) = open(&parent, a, b);
    let cx = parent.with_span(Handle {
        context,
        record: Some(record),
    });
    drop(parent);
    let guard = cx.attach();
    let result = crate::body(a, b);
    get_active_span(|span| span.end_with_timestamp(SystemTime::now()));
    drop(guard);
    result
}

/// The same with only the span's `SpanContext` in the context (children find
/// their parent; hand-written `get_active_span` writes land nowhere): the
/// record stays with the call, no handle is boxed, nothing is locked to end.
#[inline(never)]
pub fn call_context_only(a: u64, b: &str) -> usize {
    let parent = Context::current();
    let (context, mut record) = open(&parent, a, b);
    let cx = parent.with_remote_span_context(context);
    drop(parent);
    let guard = cx.attach();
    let result = crate::body(a, b);
    drop(guard);
    record.end = SystemTime::now();
    push(record);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_the_context_land_in_the_ended_record() {
        let parent = Context::current();
        let (context, record) = open(&parent, 7, "resize");
        let span_id = context.span_id();
        let cx = parent.with_span(Handle {
            context,
            record: Some(record),
        });
        let guard = cx.attach();
        assert_eq!(call(1, "child"), 6, "the body runs inside");
        get_active_span(|span| {
            span.set_attribute(KeyValue::new("hand", "written"));
            span.set_status(Status::error("failed"));
            span.end_with_timestamp(SystemTime::now());
        });
        drop(guard);
        let ended = ENDED.lock().unwrap();
        let child = &ended[ended.len() - 2];
        let ours = &ended[ended.len() - 1];
        assert_eq!(
            child.parent, span_id,
            "the child's parent is the span in the context"
        );
        assert_eq!((ours.span, child.trace), (span_id, ours.trace), "one trace");
        assert_eq!(
            (ours.a, &ours.b[..usize::from(ours.b_len)]),
            (7, &b"resize"[..])
        );
        assert_eq!(ours.attributes, [KeyValue::new("hand", "written")]);
        assert_eq!(ours.status, Status::error("failed"));
        assert!(ours.end >= ours.start);
    }
}
