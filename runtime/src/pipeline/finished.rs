//! An ended span on its way out: one of spanwright's records, or a span of the
//! SDK's.

use crate::pipeline::record::Record;
use crate::pipeline::truncate::{truncate_record, truncate_span};
use opentelemetry_sdk::trace::SpanData;

/// An ended span: a record of spanwright's, or a span of the SDK's (started by
/// hand-written code, through the global provider spanwright installs).
#[derive(Debug)]
pub(crate) enum Finished {
    Record(Box<Record>),
    Sdk(Box<SpanData>),
}

impl Finished {
    pub(crate) fn into_span_data(self) -> SpanData {
        match self {
            Finished::Record(record) => (*record).into_span_data(),
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
