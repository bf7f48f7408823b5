//! Where an ended record goes: the export queues of the installation it was
//! started under (one per exporter, each gets every span), or the capture of a
//! test.

use crate::pipeline::held::HeldTrace;
use crate::pipeline::queue::{Queue, push_to_all};
use crate::pipeline::record::Record;
use opentelemetry_sdk::trace::SpanData;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub(crate) enum Sink {
    /// An installation's queues; none when spans are recorded, not exported.
    Queues(Arc<[Arc<Queue>]>),
    /// A `testing::capture`: every recording span, synchronously.
    Capture(Arc<Mutex<Vec<SpanData>>>),
    /// A local trace held until its root ends (sampling that keeps errors).
    Held(Arc<HeldTrace>),
}

impl Sink {
    pub(crate) fn ended(&self, record: Box<Record>) {
        match self {
            Sink::Queues(queues) => {
                // Recorded but not sampled (a sampler's RecordOnly): not exported,
                // as the SDK's batch processor does.
                if !record.context.is_sampled() {
                    return;
                }
                push_to_all(queues, record);
            }
            Sink::Held(trace) => trace.ended(record),
            Sink::Capture(spans) => {
                let span = (*record).into_span_data();
                spans.lock().unwrap_or_else(|p| p.into_inner()).push(span);
            }
        }
    }
}
