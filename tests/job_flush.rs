//! `#[traced_job(flush)]`: the job's spans reach the exporter before the function
//! returns, although the batch processor would wait 5 s to send them.

use spanwright::opentelemetry_sdk::error::OTelSdkResult;
use spanwright::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl SpanExporter for Received {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0
            .lock()
            .unwrap()
            .extend(batch.into_iter().map(|s| s.name.into_owned()));
        Ok(())
    }
}

impl Received {
    fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[spanwright::traced_job(flush)]
fn flushed_job() {
    step();
}

#[spanwright::traced_job]
fn plain_job() {}

#[spanwright::span]
fn step() {}

#[spanwright::traced_job(flush)]
async fn flushed_async_job() {}

#[test]
fn flush_exports_before_returning() {
    let received = Received::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(received.clone())
        .install()
        .unwrap();

    plain_job();
    assert!(received.names().is_empty(), "without flush the batch waits");

    flushed_job();
    let names = received.names();
    assert!(names.contains(&"flushed_job".to_string()), "{names:?}");
    assert!(names.contains(&"step".to_string()), "{names:?}");
    assert!(
        names.contains(&"plain_job".to_string()),
        "a flush sends everything pending"
    );

    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(flushed_async_job());
    assert!(received.names().contains(&"flushed_async_job".to_string()));
    drop(telemetry);
}
