//! What the export thread hands batches to: the OTLP exporter, which encodes
//! the request straight from the records, or any `SpanExporter` of the SDK's
//! (the console, a user's), which gets `SpanData` made from them.

use crate::pipeline::finished::Finished;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Takes batches on the export thread; each call returns once the batch is
/// exported or lost, and leaves `batch` empty (its room kept for the next).
pub(crate) trait Destination: Send + 'static {
    fn export(&mut self, batch: &mut Vec<Finished>) -> Result<(), String>;
    fn shutdown(&mut self);
}

/// An SDK exporter behind the queue.
#[derive(Debug)]
pub(crate) struct SdkExporter<E>(E);

impl<E: SpanExporter + 'static> SdkExporter<E> {
    pub(crate) fn new(mut exporter: E, resource: &Resource) -> Self {
        exporter.set_resource(resource);
        SdkExporter(exporter)
    }
}

impl<E: SpanExporter + 'static> Destination for SdkExporter<E> {
    fn export(&mut self, batch: &mut Vec<Finished>) -> Result<(), String> {
        let spans: Vec<SpanData> = batch.drain(..).map(Finished::into_span_data).collect();
        futures_executor::block_on(self.0.export(spans)).map_err(|error| error.to_string())
    }

    fn shutdown(&mut self) {
        let _ = self.0.shutdown();
    }
}
