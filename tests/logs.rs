//! Log correlation: `tracing` events inside an annotated function carry its trace
//! and span ids in JSON log lines, and error events become span events.

use serde_json::Value as Json;
use spanwright::opentelemetry::Value;
use spanwright::testing::{SpanDataExt, capture};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Json> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

#[spanwright::span(kind = client, attrs(bucket))]
fn upload(bucket: &str, bytes: usize) -> Result<(), String> {
    tracing::info!(bytes, "uploading");
    if bytes == 0 {
        tracing::error!(bucket, "refusing an empty upload");
        return Err("empty".into());
    }
    Ok(())
}

#[test]
fn json_lines_carry_the_span_ids_and_errors_become_span_events() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(spanwright::logs::JsonWithTraceIds)
                .with_writer(buffer.clone()),
        )
        .with(spanwright::logs::SpanEvents::at(tracing::Level::WARN));
    let (_, spans) = tracing::subscriber::with_default(subscriber, || {
        capture(|| {
            tracing::info!("before any span");
            let _ = upload("models", 10);
            let _ = upload("models", 0);
        })
    });

    let lines = buffer.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0]["fields"]["message"], "before any span");
    assert!(lines[0].get("trace_id").is_none(), "no span, no ids");

    let uploads: Vec<_> = spans.all_named("upload").collect();
    for (line, span) in [
        (&lines[1], uploads[0]),
        (&lines[2], uploads[1]),
        (&lines[3], uploads[1]),
    ] {
        assert_eq!(line["trace_id"], span.span_context.trace_id().to_string());
        assert_eq!(line["span_id"], span.span_context.span_id().to_string());
    }
    assert_eq!(lines[1]["level"], "INFO");
    assert_eq!(lines[1]["fields"]["bytes"], 10);
    assert_eq!(lines[3]["level"], "ERROR");
    assert_eq!(lines[3]["fields"]["bucket"], "models");

    // Only the error (at WARN or above) was recorded on the span.
    assert!(uploads[0].event("log").is_none());
    let event = uploads[1].event("log").expect("the error is a span event");
    assert_eq!(event.attr("log.severity"), Some(&Value::from("ERROR")));
    assert_eq!(
        event.attr("log.message"),
        Some(&Value::from("refusing an empty upload"))
    );
    assert_eq!(event.attr("bucket"), Some(&Value::from("models")));
}
