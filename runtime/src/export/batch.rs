//! The batch pipeline every exporter sits behind: the SDK's batch processor,
//! with spanwright's own admission in front of its queue (so every drop is
//! counted and reported, which the SDK keeps to itself) and the attribute value
//! length limit (applied before a span is queued, so full-size values never sit
//! in the queue), and behind it the counting of exported spans and failed
//! exports.

use crate::export::stats::Counters;
use crate::export::truncate::truncate_span;
use crate::setup::batch_settings::BatchSettings;
use crate::span::job;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Span, SpanData, SpanExporter, SpanProcessor,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Builds the processor for `exporter`.
pub(crate) fn processor<E: SpanExporter + 'static>(
    exporter: E,
    settings: &BatchSettings,
    value_length: Option<usize>,
    counters: Arc<Counters>,
) -> Accounted {
    let exporter = Outgoing {
        inner: exporter,
        counters: Arc::clone(&counters),
    };
    // Every field the processor uses is set from what spanwright parsed:
    // `default()` reads the `OTEL_BSP_*` variables again (its export timeout,
    // also read there, is unused by this thread-based processor).
    let config = BatchConfigBuilder::default()
        // Admission keeps the SDK's queue from ever filling: same capacity.
        .with_max_queue_size(settings.queue_size)
        .with_max_export_batch_size(settings.batch_size)
        .with_scheduled_delay(settings.delay)
        .build();
    Accounted {
        inner: BatchSpanProcessor::builder(exporter)
            .with_batch_config(config)
            .build(),
        counters,
        limit: value_length,
    }
}

/// Counts each ended span in, and drops it (counted and reported) when the queue
/// is full, before the SDK would drop it silently.
#[derive(Debug)]
pub(crate) struct Accounted {
    inner: BatchSpanProcessor,
    counters: Arc<Counters>,
    /// The attribute value length limit; `None`: no limit.
    limit: Option<usize>,
}

impl SpanProcessor for Accounted {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if self.counters.admit() {
            job::complete(&mut span);
            if let Some(limit) = self.limit {
                truncate_span(&mut span, limit);
            }
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter as the batch thread sees it: counts what it takes, exports and
/// fails to export.
#[derive(Debug)]
struct Outgoing<E> {
    inner: E,
    counters: Arc<Counters>,
}

impl<E: SpanExporter> SpanExporter for Outgoing<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let count = batch.len();
        self.counters.taken(count);
        let export = self.inner.export(batch);
        let counters = Arc::clone(&self.counters);
        async move {
            let result = export.await;
            match &result {
                Ok(()) => counters.exported(count),
                Err(error) => counters.export_failed(count, error),
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
