//! The SDK's way into the queue: spans of the SDK's own (hand-written code,
//! through the provider spanwright installs) are queued beside the records,
//! and the provider's flush and shutdown reach the queue.

use crate::pipeline::finished::Finished;
use crate::pipeline::queue::Queue;
use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::sync::Arc;
use std::time::Duration;

/// How long a flush through the provider may wait (the SDK's batch processor's).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct QueueProcessor(pub(crate) Arc<Queue>);

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.push(Finished::Sdk(Box::new(span)));
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.0.flush(FLUSH_TIMEOUT) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(FLUSH_TIMEOUT))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.0.shutdown(timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}
