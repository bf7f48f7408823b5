//! OTLP's `ExportTraceServiceRequest`, written as protobuf bytes straight from
//! the spans, with prost's wire-format primitives: no intermediate protobuf
//! structs to build, fill with owned copies of every string, and drop (what
//! converting through `opentelemetry-proto`'s types costs the export thread).
//!
//! The bytes decode to exactly what `opentelemetry-proto`'s conversion sends
//! for the same spans (tested field by field below, and against real receivers
//! in the integration tests): spans grouped by instrumentation scope in order of
//! first appearance, the span flags with the "has is-remote" bit, status always
//! present.

use crate::pipeline::attribute::AttributeValue;
use crate::pipeline::clock::unix_nanos;
use crate::pipeline::finished::Finished;
use crate::pipeline::record::{Code, Record};
use crate::pipeline::wire::{
    bytes, encode_key, encode_varint, field_len, fixed32, fixed64, header, message, message_sized,
    string, string_always, varint,
};
use crate::span::site::{CODE_FILE, CODE_FUNCTION, CODE_LINE, Site};
use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::encoding::{WireType, encoded_len_varint};
use std::ops::Range;
use std::time::SystemTime;

/// `SpanFlags`: the flags say whether the parent's is-remote is known, and if so
/// whether it is remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Appends the request for `spans` under `resource` to `out`.
pub(crate) fn export_request(out: &mut Vec<u8>, resource: &Resource, spans: &[Finished]) {
    if spans.is_empty() {
        return;
    }
    // ExportTraceServiceRequest.resource_spans = 1 (a batch: mostly 16 KiB to 2 MiB)
    message_sized(out, 1, 3, |out| {
        // ResourceSpans.resource = 1
        message(out, 1, |out| resource_attributes(out, resource));
        // ResourceSpans.scope_spans = 2, one per scope in order of appearance.
        let mut locations = Locations::default();
        for (scope, members) in group_by_scope(spans) {
            message_sized(out, 2, 3, |out| {
                message(out, 1, |out| instrumentation_scope(out, scope));
                for &index in &members {
                    // A span mostly takes 128 bytes to 16 KiB.
                    message_sized(out, 2, 2, |out| match &spans[index] {
                        Finished::Record(record) => self::record(out, record, &mut locations),
                        Finished::Sdk(span) => self::span(out, span),
                    });
                }
                string(out, 3, scope.schema_url());
            });
        }
        string(out, 3, resource.schema_url().unwrap_or_default());
    });
}

/// An instrumentation scope: the SDK's, or a record's name and version.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Sdk(&'a InstrumentationScope),
    Record(&'static str, &'static str),
}

impl Scope<'_> {
    fn of(span: &Finished) -> Scope<'_> {
        match span {
            Finished::Record(record) => Scope::Record(record.scope.0, record.scope.1),
            Finished::Sdk(span) => Scope::Sdk(&span.instrumentation_scope),
        }
    }

    fn name(&self) -> &str {
        match self {
            Scope::Sdk(scope) => scope.name(),
            Scope::Record(name, _) => name,
        }
    }

    fn version(&self) -> &str {
        match self {
            Scope::Sdk(scope) => scope.version().unwrap_or_default(),
            Scope::Record(_, version) => version,
        }
    }

    fn attributes(&self) -> impl Iterator<Item = &KeyValue> {
        let attributes = match self {
            Scope::Sdk(scope) => Some(scope.attributes()),
            Scope::Record(..) => None,
        };
        attributes.into_iter().flatten()
    }

    fn schema_url(&self) -> &str {
        match self {
            Scope::Sdk(scope) => scope.schema_url().unwrap_or_default(),
            Scope::Record(..) => "",
        }
    }

    /// The same scope, as OTLP groups them.
    #[inline]
    fn same(&self, other: &Scope<'_>) -> bool {
        if let (Scope::Record(a, av), Scope::Record(b, bv)) = (self, other) {
            // The same literals, mostly: their addresses say so first.
            return (std::ptr::eq(*a, *b) || a == b) && (std::ptr::eq(*av, *bv) || av == bv);
        }
        self.name() == other.name()
            && self.version() == other.version()
            && self.attributes().eq(other.attributes())
            && self.schema_url() == other.schema_url()
    }
}

/// The scopes of `spans` in order of first appearance, each with its spans'
/// indices. A batch mostly holds runs of one scope: a span is compared with the
/// one before it first.
fn group_by_scope(spans: &[Finished]) -> Vec<(Scope<'_>, Vec<usize>)> {
    let mut groups: Vec<(Scope<'_>, Vec<usize>)> = Vec::new();
    let mut last: Option<usize> = None;
    for (index, span) in spans.iter().enumerate() {
        let scope = Scope::of(span);
        let group = match last {
            Some(group) if groups[group].0.same(&scope) => group,
            _ => match groups.iter().position(|(known, _)| known.same(&scope)) {
                Some(group) => group,
                None => {
                    groups.push((scope, Vec::with_capacity(spans.len())));
                    groups.len() - 1
                }
            },
        };
        last = Some(group);
        groups[group].1.push(index);
    }
    groups
}

fn instrumentation_scope(out: &mut Vec<u8>, scope: Scope<'_>) {
    string(out, 1, scope.name());
    string(out, 2, scope.version());
    for kv in scope.attributes() {
        key_value(out, 3, kv.key.as_str(), &kv.value);
    }
}

/// A span of the SDK's.
fn span(out: &mut Vec<u8>, span: &SpanData) {
    let cx = &span.span_context;
    let times = (span.start_time, span.end_time);
    head(
        out,
        cx,
        span.parent_span_id,
        &span.name,
        &span.span_kind,
        times,
    );
    attributes(out, 9, &span.attributes);
    varint(out, 10, u64::from(span.dropped_attributes_count));
    events(out, &span.events, span.events.dropped_count);
    links(out, &span.links, span.links.dropped_count);
    status_and_flags(out, &span.status, flags(span.parent_span_is_remote, cx));
}

/// One of spanwright's records: a job's two attributes first.
fn record(out: &mut Vec<u8>, record: &Record, locations: &mut Locations) {
    let cx = &record.context;
    let times = (record.start, record.end);
    head(
        out,
        cx,
        record.parent_span_id,
        &record.name,
        &record.kind,
        times,
    );
    if let Some(job) = record.job_attributes() {
        attributes(out, 9, &job);
    }
    if let Some(code) = &record.code {
        locations.write(out, code);
    }
    for attribute in &record.attributes {
        let key = attribute.key.as_str();
        match &attribute.value {
            AttributeValue::Value(value) => key_value(out, 9, key, value),
            AttributeValue::Short(short) => {
                scalar_key_value(out, 9, key, Scalar::Text(short.as_bytes()));
            }
        }
    }
    varint(out, 10, u64::from(record.dropped_attributes));
    // Mostly none: the calls skipped.
    if !record.events.is_empty() || record.dropped_events != 0 {
        events(out, &record.events, record.dropped_events);
    }
    if !record.links.is_empty() || record.dropped_links != 0 {
        links(out, &record.links, record.dropped_links);
    }
    status_and_flags(out, &record.status, flags(record.parent_is_remote, cx));
}

/// The source locations a request has written: a batch mostly holds spans of
/// a few functions, and a location's attributes are the same bytes each time,
/// copied from the first.
#[derive(Default)]
struct Locations {
    bytes: Vec<u8>,
    /// The site, how many of its attributes were kept, and where their bytes are.
    written: Vec<(&'static Site, usize, Range<usize>)>,
    /// The one found last: mostly the next span's too.
    last: usize,
}

impl Locations {
    /// The sites remembered at most (a request of many more functions
    /// writes the others out each time).
    const SITES: usize = 32;

    fn write(&mut self, out: &mut Vec<u8>, code: &Code) {
        let same = |&(site, kept, _): &(&'static Site, usize, Range<usize>)| {
            std::ptr::eq(site, code.site) && kept == code.kept()
        };
        let found = match self.written.get(self.last) {
            Some(entry) if same(entry) => Some(self.last),
            _ => self.written.iter().position(same),
        };
        if let Some(index) = found {
            self.last = index;
            out.extend_from_slice(&self.bytes[self.written[index].2.clone()]);
            return;
        }
        let at = out.len();
        code_attributes(out, code);
        if self.written.len() < Self::SITES {
            let from = self.bytes.len();
            self.bytes.extend_from_slice(&out[at..]);
            self.written
                .push((code.site, code.kept(), from..self.bytes.len()));
            self.last = self.written.len() - 1;
        }
    }
}

/// An annotated function's source location, as many of its three attributes
/// as the limit kept, written from its site.
fn code_attributes(out: &mut Vec<u8>, code: &Code) {
    let site = code.site;
    let values = [
        (CODE_FUNCTION, Scalar::Text(site.function.as_bytes())),
        (CODE_FILE, Scalar::Text(site.file.as_bytes())),
        (CODE_LINE, Scalar::Varint(3, u64::from(site.line))),
    ];
    for (key, value) in values.into_iter().take(code.kept()) {
        scalar_key_value(out, 9, key, value);
    }
}

/// Fields 1 to 8: ids, trace state, parent, name, kind, start and end. The
/// fixed-size fields are laid out in a few bytes on the stack and appended at
/// once (a span's ids, its parent's, its kind and times).
fn head(
    out: &mut Vec<u8>,
    cx: &SpanContext,
    parent: SpanId,
    name: &str,
    kind: &SpanKind,
    (start, end): (SystemTime, SystemTime),
) {
    const TRACE_ID: u8 = key(1, WireType::LengthDelimited);
    const SPAN_ID: u8 = key(2, WireType::LengthDelimited);
    const PARENT_SPAN_ID: u8 = key(4, WireType::LengthDelimited);
    const KIND: u8 = key(6, WireType::Varint);
    const START: u8 = key(7, WireType::SixtyFourBit);
    const END: u8 = key(8, WireType::SixtyFourBit);
    let mut ids = [0; 28];
    ids[..2].copy_from_slice(&[TRACE_ID, 16]);
    ids[2..18].copy_from_slice(&cx.trace_id().to_bytes());
    ids[18..20].copy_from_slice(&[SPAN_ID, 8]);
    ids[20..].copy_from_slice(&cx.span_id().to_bytes());
    out.extend_from_slice(&ids);
    trace_state(out, 3, cx);
    if parent != SpanId::INVALID {
        let mut field = [PARENT_SPAN_ID, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        field[2..].copy_from_slice(&parent.to_bytes());
        out.extend_from_slice(&field);
    }
    string(out, 5, name);
    let (start, end) = (unix_nanos(start), unix_nanos(end));
    if start == 0 || end == 0 {
        // Before 1970: left out, as proto3 leaves out a zero.
        varint(out, 6, span_kind(kind));
        fixed64(out, 7, start);
        fixed64(out, 8, end);
        return;
    }
    let mut fields = [
        KIND,
        span_kind(kind) as u8,
        START,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        END,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    fields[3..11].copy_from_slice(&start.to_le_bytes());
    fields[12..].copy_from_slice(&end.to_le_bytes());
    out.extend_from_slice(&fields);
}

/// A field's key, for tags below 16 (one byte).
const fn key(tag: u8, wire_type: WireType) -> u8 {
    (tag << 3) | wire_type as u8
}

/// Fields 11 and 12.
fn events(out: &mut Vec<u8>, events: &[Event], dropped: u32) {
    for event in events {
        message(out, 11, |out| {
            fixed64(out, 1, unix_nanos(event.timestamp));
            string(out, 2, &event.name);
            attributes(out, 3, &event.attributes);
            varint(out, 4, u64::from(event.dropped_attributes_count));
        });
    }
    varint(out, 12, u64::from(dropped));
}

/// Fields 13 and 14.
fn links(out: &mut Vec<u8>, links: &[Link], dropped: u32) {
    for link in links {
        message(out, 13, |out| {
            let cx = &link.span_context;
            bytes(out, 1, &cx.trace_id().to_bytes());
            bytes(out, 2, &cx.span_id().to_bytes());
            trace_state(out, 3, cx);
            attributes(out, 4, &link.attributes);
            varint(out, 5, u64::from(link.dropped_attributes_count));
            fixed32(out, 6, flags(cx.is_remote(), cx));
        });
    }
    varint(out, 14, u64::from(dropped));
}

/// Status = 15 (always sent, as the SDK's exporter sends it) and the flags =
/// 16: an unset or Ok status appended with the flags at once.
fn status_and_flags(out: &mut Vec<u8>, status: &Status, flags: u32) {
    const STATUS: u8 = key(15, WireType::LengthDelimited);
    const CODE: u8 = key(3, WireType::Varint);
    // Key 16 << 3 | 5 = 133, a varint of two bytes.
    const FLAGS: [u8; 2] = [0x85, 0x01];
    // Never zero (the "has is-remote" bit is always set), so never left out.
    debug_assert_ne!(flags, 0);
    let [a, b, c, d] = flags.to_le_bytes();
    match status {
        Status::Unset => out.extend_from_slice(&[STATUS, 0, FLAGS[0], FLAGS[1], a, b, c, d]),
        Status::Ok => {
            out.extend_from_slice(&[STATUS, 2, CODE, 1, FLAGS[0], FLAGS[1], a, b, c, d]);
        }
        Status::Error { description } => {
            message(out, 15, |out| {
                string(out, 2, description);
                varint(out, 3, 2);
            });
            fixed32(out, 16, flags);
        }
    }
}

fn flags(parent_is_remote: bool, cx: &SpanContext) -> u32 {
    let remote = if parent_is_remote {
        CONTEXT_IS_REMOTE
    } else {
        0
    };
    u32::from(cx.trace_flags().to_u8()) | CONTEXT_HAS_IS_REMOTE | remote
}

fn trace_state(out: &mut Vec<u8>, tag: u32, cx: &SpanContext) {
    if *cx.trace_state() == TraceState::NONE {
        // Mostly none: no header to make (an empty string is not sent).
        return;
    }
    let state = cx.trace_state().header();
    string(out, tag, &state);
}

fn span_kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn attributes(out: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        key_value(out, tag, kv.key.as_str(), &kv.value);
    }
}

/// `Resource.attributes` (field 1), for spans and metrics alike.
pub(crate) fn resource_attributes(out: &mut Vec<u8>, resource: &Resource) {
    for (key, value) in resource.iter() {
        key_value(out, 1, key.as_str(), value);
    }
}

/// `KeyValue { key = 1, value = 2 }` as field `tag`.
fn key_value(out: &mut Vec<u8>, tag: u32, key: &str, value: &Value) {
    let scalar = match value {
        Value::String(s) => Scalar::Text(s.as_str().as_bytes()),
        Value::Bool(b) => Scalar::Varint(2, u64::from(*b)),
        Value::I64(i) => Scalar::Varint(3, *i as u64),
        Value::F64(f) => Scalar::Fixed64(4, f.to_bits()),
        _ => {
            return message(out, tag, |out| {
                string(out, 1, key);
                message(out, 2, |out| any_value(out, value));
            });
        }
    };
    scalar_key_value(out, tag, key, scalar);
}

/// An `AnyValue` other than an array, by its field: text, a varint or 64 bits.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Text(&'a [u8]),
    Varint(u32, u64),
    Fixed64(u32, u64),
}

/// A `KeyValue` of a [`Scalar`]: its lengths worked out first, so that each
/// is written in front of its body (nothing to fill in or move afterwards).
fn scalar_key_value(out: &mut Vec<u8>, tag: u32, key: &str, value: Scalar<'_>) {
    let any = match value {
        Scalar::Text(text) => field_len(text.len()),
        Scalar::Varint(_, v) => 1 + encoded_len_varint(v),
        Scalar::Fixed64(..) => 9,
    };
    // proto3 leaves out an empty key; the value, a oneof, is always written.
    let key_field = if key.is_empty() {
        0
    } else {
        field_len(key.len())
    };
    header(out, tag, key_field + field_len(any));
    if !key.is_empty() {
        header(out, 1, key.len());
        out.extend_from_slice(key.as_bytes());
    }
    header(out, 2, any);
    match value {
        Scalar::Text(text) => {
            header(out, 1, text.len());
            out.extend_from_slice(text);
        }
        Scalar::Varint(field, v) => {
            encode_key(field, WireType::Varint, out);
            encode_varint(v, out);
        }
        Scalar::Fixed64(field, bits) => {
            encode_key(field, WireType::SixtyFourBit, out);
            out.extend_from_slice(&bits.to_le_bytes());
        }
    }
}

/// `AnyValue`, a oneof: its field is written even when it holds the default.
fn any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => string_always(out, 1, s.as_str()),
        Value::Bool(b) => {
            encode_key(2, WireType::Varint, out);
            encode_varint(u64::from(*b), out);
        }
        Value::I64(i) => {
            encode_key(3, WireType::Varint, out);
            encode_varint(*i as u64, out);
        }
        Value::F64(f) => {
            encode_key(4, WireType::SixtyFourBit, out);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Array(array) => message(out, 5, |out| match array {
            Array::Bool(values) => each(out, values, |v| Value::Bool(*v)),
            Array::I64(values) => each(out, values, |v| Value::I64(*v)),
            Array::F64(values) => each(out, values, |v| Value::F64(*v)),
            Array::String(values) => {
                for v in values {
                    message(out, 1, |out| string_always(out, 1, v.as_str()));
                }
            }
            // A kind of array this version does not know: sent empty.
            _ => {}
        }),
        // A kind of value this version does not know: sent as its text.
        other => string_always(out, 1, &other.as_str()),
    }
}

fn each<T>(out: &mut Vec<u8>, values: &[T], value: impl Fn(&T) -> Value) {
    for v in values {
        message(out, 1, |out| any_value(out, &value(v)));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentelemetry::trace::{Event, Link, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLimits, SpanLinks};
    use prost::Message as _;
    use prost::encoding::{encode_key, encode_varint};
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    fn context(trace: u128, span: u64, flags: u8, state: &str, remote: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::new(flags),
            remote,
            state.parse::<TraceState>().unwrap(),
        )
    }

    /// Spans exercising every field: each value type, arrays, events, links,
    /// every status and kind, remote and local parents, dropped counts, two
    /// scopes interleaved, a time before the epoch, Unicode and empty strings.
    pub(crate) fn spans() -> Vec<SpanData> {
        let t0 = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
        let scope_a = InstrumentationScope::builder("spanwright")
            .with_version("0.1.0")
            .build();
        let scope_b = InstrumentationScope::builder("tracing-opentelemetry")
            .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
            .with_attributes([KeyValue::new("scope.attr", 3)])
            .build();
        let attributes = vec![
            KeyValue::new("text", "héllo ✓"),
            KeyValue::new("empty", ""),
            KeyValue::new("int", -42),
            KeyValue::new("zero", 0),
            KeyValue::new("big", i64::MAX),
            KeyValue::new("float", 1.5),
            KeyValue::new("nan.free", -0.0),
            KeyValue::new("flag", true),
            KeyValue::new("off", false),
            KeyValue::new("ints", Value::Array(vec![1i64, -2, 0].into())),
            KeyValue::new("floats", Value::Array(vec![0.5f64, 2.0].into())),
            KeyValue::new("bools", Value::Array(vec![true, false].into())),
            KeyValue::new(
                "strings",
                Value::Array(vec![opentelemetry::StringValue::from("a"), "".into()].into()),
            ),
            KeyValue::new("long", "x".repeat(300)),
            KeyValue::new("nan", f64::NAN),
            KeyValue::new("plus.zero", 0.0),
            KeyValue::new("min", i64::MIN),
        ];
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "exception",
            t0 + Duration::from_micros(5),
            vec![
                KeyValue::new("exception.type", "io::Error"),
                KeyValue::new("exception.message", "disk full"),
            ],
            2,
        ));
        events.events.push(Event::new("empty", t0, vec![], 0));
        events.dropped_count = 300;
        let mut links = SpanLinks::default();
        links.links.push(Link::new(
            context(0xabc, 0xdef, 1, "vendor=x,other=y", true),
            vec![KeyValue::new("link.kind", "follows")],
            1,
        ));
        links
            .links
            .push(Link::new(context(0x1, 0x2, 0, "", false), vec![], 0));
        links.dropped_count = 70_000;
        let base = SpanData {
            span_context: context(
                0x4bf92f3577b34da6a3ce929d0e0e4736,
                0x00f067aa0ba902b7,
                1,
                "",
                false,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("root"),
            start_time: t0,
            end_time: t0 + Duration::from_millis(3),
            attributes: attributes.clone(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: scope_a.clone(),
        };
        let kinds = [
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ];
        let mut spans = vec![base.clone()];
        for (i, kind) in kinds.into_iter().enumerate() {
            let i = i as u64 + 1;
            spans.push(SpanData {
                span_context: context(
                    0x4bf92f3577b34da6a3ce929d0e0e4736,
                    0x1000 + i,
                    if i.is_multiple_of(2) { 1 } else { 3 },
                    if i == 2 { "congo=t61rcWkgMzE" } else { "" },
                    false,
                ),
                parent_span_id: SpanId::from(0x00f067aa0ba902b7),
                parent_span_is_remote: i == 3,
                span_kind: kind,
                name: Cow::Owned(format!("child {i} ✓")),
                attributes: attributes[..(i as usize * 3)].to_vec(),
                dropped_attributes_count: i as u32 * 100,
                events: if i == 1 {
                    events.clone()
                } else {
                    SpanEvents::default()
                },
                links: if i == 2 {
                    links.clone()
                } else {
                    SpanLinks::default()
                },
                status: match i {
                    1 => Status::error("it broke: ✗"),
                    2 => Status::Ok,
                    3 => Status::error(""),
                    _ => Status::Unset,
                },
                instrumentation_scope: if i.is_multiple_of(2) {
                    scope_b.clone()
                } else {
                    scope_a.clone()
                },
                ..base.clone()
            });
        }
        spans.push(SpanData {
            name: Cow::Borrowed(""),
            start_time: UNIX_EPOCH - Duration::from_secs(1),
            end_time: UNIX_EPOCH,
            attributes: vec![],
            ..base
        });
        spans
    }

    /// `spans()` as queued.
    #[cfg(feature = "otlp-http")]
    pub(crate) fn queued() -> Vec<Finished> {
        spans()
            .into_iter()
            .map(|span| Finished::Sdk(Box::new(span)))
            .collect()
    }

    pub(crate) fn resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "encoder-test"),
                KeyValue::new("service.instance.id", 7),
            ])
            .with_schema_url([], "https://opentelemetry.io/schemas/1.27.0")
            .build()
    }

    /// What the SDK's exporter sends for `spans`, decoded.
    fn sdk_request(spans: Vec<SpanData>, resource: &Resource) -> ExportTraceServiceRequest {
        let resource = ResourceAttributesWithSchema::from(resource);
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &resource),
        }
    }

    /// The request spanwright writes for `records`, and what the SDK's
    /// exporter sends for their `SpanData`.
    fn ours_and_theirs(records: Vec<Record>) -> (Vec<u8>, ExportTraceServiceRequest) {
        let resource = resource();
        let queued: Vec<Finished> = records
            .iter()
            .map(|r| Finished::Record(r.clone()))
            .collect();
        let mut ours = Vec::new();
        export_request(&mut ours, &resource, &queued);
        let spans = records.into_iter().map(Record::into_span_data).collect();
        (ours, sdk_request(spans, &resource))
    }

    #[test]
    fn decodes_to_what_the_sdk_sends() {
        let (spans, resource) = (spans(), resource());
        let mut bytes = Vec::new();
        let queued: Vec<Finished> = spans
            .iter()
            .map(|span| Finished::Sdk(Box::new(span.clone())))
            .collect();
        export_request(&mut bytes, &resource, &queued);
        let ours = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        let theirs = sdk_request(spans, &resource);
        // Field by field, so that a difference names itself (compared as their
        // `Debug` text: NaN equals NaN there, and -0.0 differs from 0.0).
        let same = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
            format!("{a:#?}") == format!("{b:#?}")
        };
        assert_eq!(ours.resource_spans.len(), theirs.resource_spans.len());
        for (o, t) in ours.resource_spans.iter().zip(&theirs.resource_spans) {
            assert!(same(&o.resource, &t.resource), "resource");
            assert_eq!(o.schema_url, t.schema_url, "resource schema url");
            assert_eq!(o.scope_spans.len(), t.scope_spans.len(), "scopes");
            for (o, t) in o.scope_spans.iter().zip(&t.scope_spans) {
                assert!(same(&o.scope, &t.scope), "scope {:?}", t.scope);
                assert_eq!(o.schema_url, t.schema_url, "scope schema url");
                assert_eq!(o.spans.len(), t.spans.len(), "spans of {:?}", t.scope);
                for (o, t) in o.spans.iter().zip(&t.spans) {
                    assert!(same(o, t), "span {:?}:\nours {o:#?}\ntheirs {t:#?}", t.name);
                }
            }
        }
        // And byte for byte: what struct equality cannot see (a field twice,
        // a longer varint than needed, the sign of -0.0, NaN's bits) shows here.
        assert_eq!(bytes, theirs.encode_to_vec());
    }

    #[test]
    fn a_message_longer_than_one_length_byte_keeps_its_bytes() {
        // Lengths of 127, 128 and 16,384 bytes take one, two and three bytes.
        for len in [0, 1, 126, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut out = vec![0xAA];
            message(&mut out, 5, |out| out.extend(std::iter::repeat_n(7u8, len)));
            let mut expected = vec![0xAA];
            encode_key(5, WireType::LengthDelimited, &mut expected);
            encode_varint(len as u64, &mut expected);
            expected.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(out, expected, "{len}");
        }
    }

    /// A record is encoded as the SDK's exporter would encode the `SpanData`
    /// made from it (a job's attributes first), and shares its scope with SDK
    /// spans of the same scope.
    #[test]
    fn a_record_encodes_as_its_span_data() {
        use crate::pipeline::record::tests::record;
        let mut plain = record("plain");
        plain.events.push(Event::new(
            "exception",
            plain.start,
            vec![opentelemetry::KeyValue::new("exception.message", "no")],
            1,
        ));
        plain
            .links
            .push(Link::with_context(context(9, 10, 1, "k=v", true)));
        plain.status = Status::error("failed");
        plain.dropped_attributes = 4;
        let mut job = record("job");
        job.job_status = Some("completed".into());
        job.scope = ("other", "");
        let sdk = opentelemetry_sdk::trace::SpanData {
            instrumentation_scope: InstrumentationScope::builder("my-crate")
                .with_version("1.2.3")
                .build(),
            ..record("sdk").into_span_data()
        };
        let resource = resource();
        let mut ours = Vec::new();
        let queued = vec![
            Finished::Record(plain.clone()),
            Finished::Record(job.clone()),
            Finished::Sdk(Box::new(sdk.clone())),
        ];
        export_request(&mut ours, &resource, &queued);
        let theirs = sdk_request(
            vec![plain.into_span_data(), job.into_span_data(), sdk],
            &resource,
        );
        assert_eq!(theirs.resource_spans[0].scope_spans.len(), 2);
        assert_eq!(ours, theirs.encode_to_vec());
    }

    /// Records with a source location (whole, and cut by the limit), a job's
    /// attributes, strings held in place and not, byte for byte as the SDK's
    /// exporter would encode their `SpanData`.
    #[test]
    fn varied_records_encode_as_their_span_data() {
        let (ours, theirs) = ours_and_theirs(crate::pipeline::record::tests::varied());
        assert_eq!(theirs.resource_spans[0].scope_spans.len(), 3);
        assert_eq!(ours, theirs.encode_to_vec());
    }

    /// A batch of many functions' spans, interleaved, some with their
    /// location cut by the attribute limit: each location's bytes are written
    /// once and copied (up to `Locations::SITES` sites), the rest written out.
    #[test]
    fn repeated_locations_encode_as_their_span_data() {
        let sites: Vec<&'static Site> = (0..Locations::SITES as u32 + 8)
            .map(|i| {
                let site = Site {
                    function: Box::leak(format!("app::f{i}").into_boxed_str()),
                    line: 10 + i * 100,
                    ..crate::pipeline::record::tests::site()
                };
                &*Box::leak(Box::new(site))
            })
            .collect();
        let mut records = Vec::new();
        // Two spans of a function in a row, 7 functions apart; each function
        // seen first with its whole location, in later rounds with 0 to 2
        // of its attributes kept.
        for n in 0..400_usize {
            let mut r = crate::pipeline::record::tests::record("f");
            let site = sites[(n / 2 * 7) % sites.len()];
            r.code = Some(Code::of(site));
            let round = n / (2 * sites.len());
            if round > 0 && n % 3 == 0 {
                r.limit_attributes(&SpanLimits {
                    max_attributes_per_span: (round % 3) as u32,
                    ..SpanLimits::default()
                });
            }
            records.push(r);
        }
        let kept: std::collections::BTreeSet<usize> =
            records.iter().map(|r| r.code.unwrap().kept()).collect();
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
        let (ours, theirs) = ours_and_theirs(records);
        assert_eq!(ours, theirs.encode_to_vec());
    }

    #[test]
    fn nothing_to_send_writes_nothing() {
        let mut out = Vec::new();
        export_request(&mut out, &resource(), &[]);
        assert!(out.is_empty());
    }
}
