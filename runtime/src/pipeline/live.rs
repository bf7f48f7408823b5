//! The span handle the current context holds while a record is being made: what
//! OpenTelemetry code sees of a spanwright span. Its `SpanContext` parents the
//! spans started under it (spanwright's and the SDK's alike), and its
//! `set_attribute`, `add_event`, `set_status`, `update_name` and `add_link`,
//! called by spanwright or by hand-written code (`get_active_span`), land in
//! the record, within the span limits. Ending hands the record to its sink.

use crate::pipeline::clock;
use crate::pipeline::record::Record;
use crate::pipeline::sink::Sink;
use opentelemetry::KeyValue;
use opentelemetry::trace::{Event, Link, SpanContext, Status};
use opentelemetry_sdk::trace::SpanLimits;
use std::borrow::Cow;
use std::time::SystemTime;

/// A span being recorded; ended exactly once (by spanwright, or when dropped).
#[derive(Debug)]
pub(crate) struct LiveSpan {
    context: SpanContext,
    /// Taken at the end. Boxed: the record is made once and then only its
    /// address moves (into the context, to the queue, to the export thread).
    record: Option<Box<Record>>,
    limits: SpanLimits,
    sink: Sink,
}

impl LiveSpan {
    pub(crate) fn new(record: Box<Record>, limits: SpanLimits, sink: Sink) -> Self {
        LiveSpan {
            context: record.context.clone(),
            record: Some(record),
            limits,
            sink,
        }
    }
}

impl opentelemetry::trace::Span for LiveSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = &mut self.record {
            record.add_event(Event::new(name, timestamp, attributes, 0), &self.limits);
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(record) = &mut self.record {
            record.set_attribute(attribute, &self.limits);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(record) = &mut self.record {
            record.set_status(status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = &mut self.record {
            record.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(record) = &mut self.record {
            record.add_link(Link::new(span_context, attributes, 0), &self.limits);
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(mut record) = self.record.take() {
            // Never before its start (a wall clock stepped back in between).
            record.end = timestamp.max(record.start);
            self.sink.ended(record);
        }
    }
}

impl Drop for LiveSpan {
    fn drop(&mut self) {
        if self.record.is_some() {
            opentelemetry::trace::Span::end_with_timestamp(self, clock::now());
        }
        if let Sink::Held(trace) = &self.sink {
            trace.span_gone(self.context.span_id());
        }
    }
}
