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
    /// Held in the queue's list itself. Moved out of its box as it is queued,
    /// so that the box is freed where the span ended (for most spans the
    /// thread that allocated it: back into that thread's allocator cache),
    /// and whoever exports the batch drops the records in place rather than
    /// freeing a block per span that another thread allocated (glibc's slow
    /// path on both threads). A record queued for a second exporter is a
    /// clone, and what a record holds apart (long strings, events, links,
    /// attributes past the first four) is still freed where it is exported.
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
