//! An ended span on its way out: one of spanwright's records, or a span of the
//! SDK's.

use crate::pipeline::record::Record;
use crate::pipeline::truncate::{truncate_record, truncate_span};
use opentelemetry_sdk::trace::SpanData;

/// An ended span: a record of spanwright's, or a span of the SDK's (started by
/// hand-written code, through the global provider spanwright installs).
// The record in place, on purpose (see `Record`'s variant).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Finished {
    /// Held in the queue's list itself: its box, freed on the thread that
    /// made it, goes back to that thread's allocator cache, and the export
    /// thread frees no block per span (glibc's slow path on both threads when
    /// a block is freed on another thread than the one that allocated it).
    Record(Record),
    Sdk(Box<SpanData>),
}

impl Finished {
    pub(crate) fn into_span_data(self) -> SpanData {
        match self {
            Finished::Record(record) => record.into_span_data(),
            Finished::Sdk(span) => *span,
        }
    }

    /// Applies the attribute value length limit.
    pub(crate) fn truncate(&mut self, limit: usize) {
        match self {
            Finished::Record(record) => truncate_record(record, limit),
            Finished::Sdk(span) => truncate_span(span, limit),
        }
    }
}
