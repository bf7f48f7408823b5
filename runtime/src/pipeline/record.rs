//! A span as spanwright records it: ids, times, typed attribute values, events,
//! links and status, with the span limits applied as they are added. The OTLP
//! encoder writes a record as it is; the console, a user's exporter and
//! `testing::capture` get it as the SDK's `SpanData`.

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLimits, SpanLinks};
use std::borrow::Cow;
use std::time::SystemTime;

use crate::pipeline::attribute::{Attribute, Attributes};
pub(crate) use crate::span::site::JOB_STATUS;
use crate::span::site::Site;
pub(crate) const JOB_DURATION: Key = Key::from_static_str("job.duration_ms");

/// One span, from its start to its export.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    /// The attributes after the job's and, while `code` holds it, the source
    /// location's.
    pub(crate) attributes: Attributes,
    pub(crate) dropped_attributes: u32,
    /// An annotated function's source location (`code.*`), written from its
    /// site when exported, after a job's attributes and before the others.
    pub(crate) code: Option<Code>,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events: u32,
    pub(crate) links: Vec<Link>,
    pub(crate) dropped_links: u32,
    pub(crate) status: Status,
    /// The instrumentation scope's name and version.
    pub(crate) scope: (&'static str, &'static str),
    /// A job's `job.status`, set as it ends; `None` for other spans. A job's
    /// `job.status` and `job.duration_ms` are its first two attributes when
    /// exported, outside the attribute limit's reach.
    pub(crate) job_status: Option<StringValue>,
}

/// Room kept for a job's two attributes within the attribute limit.
const JOB_ATTRIBUTES: usize = 2;

/// An annotated function's `code.*` attributes, as many as the attribute
/// limit left room for: kept as its site, not copied into the list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Code {
    pub(crate) site: &'static Site,
    kept: u8,
}

impl Code {
    /// All three, until the limits are applied.
    pub(crate) fn of(site: &'static Site) -> Self {
        Code { site, kept: 3 }
    }

    pub(crate) fn attributes(&self) -> impl Iterator<Item = KeyValue> {
        self.site
            .code_attributes()
            .into_iter()
            .take(usize::from(self.kept))
    }

    /// How many of the three the limit kept.
    pub(crate) fn kept(&self) -> usize {
        usize::from(self.kept)
    }

    /// The longest of its string values, in bytes.
    pub(crate) fn longest_value(&self) -> usize {
        self.site.function.len().max(self.site.file.len())
    }
}

impl Record {
    /// The attribute limit for this span's own attributes.
    fn attribute_room(&self, limits: &SpanLimits) -> usize {
        let mut room = limits.max_attributes_per_span as usize;
        if self.job_status.is_some() {
            room = room.saturating_sub(JOB_ATTRIBUTES);
        }
        if let Some(code) = &self.code {
            room = room.saturating_sub(usize::from(code.kept));
        }
        room
    }

    /// Cuts the attributes given at start (the source location first) to the limit.
    pub(crate) fn limit_attributes(&mut self, limits: &SpanLimits) {
        if let Some(mut code) = self.code.take() {
            let offered = usize::from(code.kept);
            let kept = self.attribute_room(limits).min(offered);
            self.dropped_attributes += (offered - kept) as u32;
            code.kept = kept as u8;
            self.code = Some(code);
        }
        let room = self.attribute_room(limits);
        if self.attributes.len() > room {
            self.dropped_attributes += (self.attributes.len() - room) as u32;
            self.attributes.truncate(room);
        }
    }

    pub(crate) fn set_attribute(&mut self, attribute: KeyValue, limits: &SpanLimits) {
        if attribute.key == JOB_STATUS && self.job_status.is_some() {
            if let Value::String(status) = attribute.value {
                self.job_status = Some(status);
            }
            return;
        }
        if self.attributes.len() < self.attribute_room(limits) {
            self.attributes.push(attribute.into());
        } else {
            self.dropped_attributes += 1;
        }
    }

    pub(crate) fn add_event(&mut self, mut event: Event, limits: &SpanLimits) {
        if self.events.len() < limits.max_events_per_span as usize {
            let room = limits.max_attributes_per_event as usize;
            if event.attributes.len() > room {
                event.dropped_attributes_count += (event.attributes.len() - room) as u32;
                event.attributes.truncate(room);
            }
            self.events.push(event);
        } else {
            self.dropped_events += 1;
        }
    }

    pub(crate) fn add_link(&mut self, mut link: Link, limits: &SpanLimits) {
        if self.links.len() < limits.max_links_per_span as usize {
            let room = limits.max_attributes_per_link as usize;
            if link.attributes.len() > room {
                link.dropped_attributes_count += (link.attributes.len() - room) as u32;
                link.attributes.truncate(room);
            }
            self.links.push(link);
        } else {
            self.dropped_links += 1;
        }
    }

    /// Status only moves up: Unset < Error < Ok, as the SDK orders them.
    pub(crate) fn set_status(&mut self, status: Status) {
        if status > self.status {
            self.status = status;
        }
    }

    /// Puts the source location into the attribute list, in its place: for
    /// code that needs the whole list (the SDK's `SpanData`, the value limit).
    pub(crate) fn code_into_attributes(&mut self) {
        if let Some(code) = self.code.take() {
            self.attributes
                .insert_many(0, code.attributes().map(Attribute::from));
        }
    }

    /// A job's two attributes, as exported.
    pub(crate) fn job_attributes(&self) -> Option<[KeyValue; 2]> {
        let status = self.job_status.clone()?;
        let millis = self
            .end
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        Some([
            KeyValue::new(JOB_STATUS, Value::String(status)),
            KeyValue::new(JOB_DURATION, Value::F64(millis)),
        ])
    }

    pub(crate) fn instrumentation_scope(&self) -> InstrumentationScope {
        let (name, version) = self.scope;
        let scope = InstrumentationScope::builder(name);
        if version.is_empty() {
            scope.build()
        } else {
            scope.with_version(version).build()
        }
    }

    /// The record as the SDK's exporters take a span.
    pub(crate) fn into_span_data(mut self) -> SpanData {
        // One list, made at its final size: the job's, the location's, the rest.
        let job = self.job_attributes();
        let code = self.code.take();
        let own = std::mem::take(&mut self.attributes);
        let mut attributes = Vec::with_capacity(
            job.as_ref().map_or(0, |job| job.len()) + code.map_or(0, |c| c.kept()) + own.len(),
        );
        if let Some(job) = job {
            attributes.extend(job);
        }
        if let Some(code) = code {
            attributes.extend(code.attributes());
        }
        for attribute in own {
            attributes.push(attribute.into_key_value());
        }
        let mut events = SpanEvents::default();
        events.events = std::mem::take(&mut self.events);
        events.dropped_count = self.dropped_events;
        let mut links = SpanLinks::default();
        links.links = std::mem::take(&mut self.links);
        links.dropped_count = self.dropped_links;
        SpanData {
            instrumentation_scope: self.instrumentation_scope(),
            span_context: self.context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            end_time: self.end,
            attributes,
            dropped_attributes_count: self.dropped_attributes,
            events,
            links,
            status: self.status,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentelemetry::trace::{TraceFlags, TraceId, TraceState};
    use std::time::Duration;

    pub(crate) fn record(name: &'static str) -> Record {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Record {
            context: SpanContext::new(
                TraceId::from(0x1234),
                SpanId::from(0x56),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(0x78),
            parent_is_remote: true,
            kind: SpanKind::Consumer,
            name: Cow::Borrowed(name),
            start,
            end: start + Duration::from_micros(1_500),
            attributes: [Attribute::from(KeyValue::new("a", 1))]
                .into_iter()
                .collect(),
            dropped_attributes: 0,
            code: None,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
            status: Status::Unset,
            scope: ("my-crate", "1.2.3"),
            job_status: None,
        }
    }

    /// Six records exercising what a record holds apart from `SpanData`: a
    /// source location (whole, and cut by the attribute limit), a job's two
    /// attributes, strings held in place (ASCII, Unicode, empty) and not, and
    /// beside them events, links, trace state, every status, remote and local
    /// parents, dropped counts and three scopes.
    pub(crate) fn varied() -> Vec<Record> {
        let key = opentelemetry::Key::from_static_str;
        let state: TraceState = "vendor=opaque,k=v".parse().unwrap();
        let context = |span: u64, state: &TraceState| {
            SpanContext::new(
                TraceId::from(0xabcd_u128 << 64 | 0x1234),
                SpanId::from(span),
                TraceFlags::SAMPLED,
                false,
                state.clone(),
            )
        };
        let mut located = record("resize");
        located.context = context(0x10, &state);
        located.kind = SpanKind::Server;
        located.code = Some(Code::of(&SITE));
        located
            .attributes
            .push(Attribute::text(key("user.id"), "u-42"));
        located
            .attributes
            .push(Attribute::text(key("city"), "Zürich ✓"));
        located.attributes.push(Attribute::text(key("empty"), ""));
        located
            .attributes
            .push(Attribute::text(key("query"), &"q".repeat(100)));
        located
            .attributes
            .push(Attribute::from(KeyValue::new("size", 1.5)));
        located.status = Status::Ok;

        let mut job = record("nightly");
        job.context = context(0x11, &TraceState::default());
        job.parent_span_id = SpanId::from(0x10);
        job.parent_is_remote = false;
        job.job_status = Some("failed".into());
        job.code = Some(Code::of(&SITE));
        job.end = job.start + Duration::from_millis(250);
        job.events.push(Event::new(
            "exception",
            job.start + Duration::from_millis(10),
            vec![
                KeyValue::new("exception.type", "io::Error"),
                KeyValue::new("exception.message", "disk full"),
            ],
            1,
        ));
        job.dropped_events = 3;
        job.status = Status::error("disk full");

        let mut cut = record("cut");
        cut.context = context(0x12, &TraceState::default());
        cut.code = Some(Code::of(&SITE));
        cut.limit_attributes(&limits(2));
        cut.set_attribute(KeyValue::new("late", true), &limits(2));

        let mut linked = record("send");
        linked.context = context(0x13, &state);
        linked.kind = SpanKind::Producer;
        linked.links.push(Link::new(
            SpanContext::new(
                TraceId::from(0x77),
                SpanId::from(0x78),
                TraceFlags::SAMPLED,
                true,
                "a=b".parse().unwrap(),
            ),
            vec![KeyValue::new("link.reason", "batch")],
            2,
        ));
        linked.dropped_links = 1;
        linked.scope = ("spanwright", "0.1.0");

        let mut root = record("GET /items");
        root.context = context(0x14, &TraceState::default());
        root.parent_span_id = SpanId::INVALID;
        root.parent_is_remote = false;
        root.kind = SpanKind::Client;
        root.attributes.clear();
        root.scope = ("spanwright", "0.1.0");

        let mut other = record("other scope");
        other.context = context(0x15, &TraceState::default());
        other.scope = ("unversioned", "");
        other
            .attributes
            .push(Attribute::text(key("exactly.22"), &"x".repeat(22)));
        vec![located, job, cut, linked, root, other]
    }

    fn limits(n: u32) -> SpanLimits {
        SpanLimits {
            max_attributes_per_span: n,
            max_events_per_span: n,
            max_links_per_span: n,
            max_attributes_per_event: n,
            max_attributes_per_link: n,
        }
    }

    #[test]
    fn limits_drop_and_count_as_the_sdk_does() {
        let mut r = record("r");
        let limits = limits(2);
        for i in 0..4 {
            r.set_attribute(KeyValue::new("k", i), &limits);
            r.add_event(
                Event::new(
                    "e",
                    SystemTime::UNIX_EPOCH,
                    vec![KeyValue::new("x", 1); 3],
                    0,
                ),
                &limits,
            );
        }
        assert_eq!((r.attributes.len(), r.dropped_attributes), (2, 3));
        assert_eq!((r.events.len(), r.dropped_events), (2, 2));
        assert_eq!(r.events[0].dropped_attributes_count, 1);
        r.set_status(Status::Ok);
        r.set_status(Status::error("later"));
        assert_eq!(r.status, Status::Ok);
    }

    pub(crate) static SITE: Site = site();

    /// The tests' site (a job's), and a template for others (`..site()`).
    pub(crate) const fn site() -> Site {
        Site {
            name: "resize",
            kind: SpanKind::Internal,
            function: "app::resize",
            file: "src/app.rs",
            line: 7,
            attrs: 1,
            status_ok: false,
            job: true,
            metrics: false,
            code: true,
            scope: "app",
            scope_version: "",
            filter: crate::span::site::FilterCache::new(),
        }
    }

    #[test]
    fn the_source_location_follows_a_jobs_attributes_within_the_limit() {
        let mut r = record("job");
        r.job_status = Some("ok".into());
        r.code = Some(Code::of(&SITE));
        r.limit_attributes(&limits(4));
        assert_eq!((r.attributes.len(), r.dropped_attributes), (0, 2));
        let data = r.clone().into_span_data();
        let keys: Vec<&str> = data.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "job.status",
                "job.duration_ms",
                "code.function.name",
                "code.file.path"
            ]
        );
        assert_eq!(data.dropped_attributes_count, 2);
        r.set_attribute(KeyValue::new("late", 1), &limits(4));
        assert_eq!(r.dropped_attributes, 3, "no room left after the location");

        let mut r = record("roomy");
        r.code = Some(Code::of(&SITE));
        r.limit_attributes(&limits(128));
        let data = r.into_span_data();
        assert_eq!(data.attributes.len(), 4);
        assert_eq!(data.attributes[2], KeyValue::new("code.line.number", 7));
        assert_eq!(data.attributes[3], KeyValue::new("a", 1));
    }

    /// What `SpanData` gets from each of the varied records: the job's
    /// attributes, then the location as far as the limit kept it, then the
    /// rest, strings held in place coming out whole.
    #[test]
    fn varied_records_make_span_data_in_order() {
        let keys: Vec<Vec<String>> = varied()
            .into_iter()
            .map(|r| {
                r.into_span_data()
                    .attributes
                    .iter()
                    .map(|kv| kv.key.to_string())
                    .collect()
            })
            .collect();
        let location = ["code.function.name", "code.file.path", "code.line.number"];
        assert_eq!(keys[0][..3], location);
        assert_eq!(
            keys[0][3..],
            ["a", "user.id", "city", "empty", "query", "size"]
        );
        assert_eq!(keys[1][..2], ["job.status", "job.duration_ms"]);
        assert_eq!(keys[1][2..5], location);
        assert_eq!(keys[2], location[..2], "cut to two by the limit");
        assert_eq!(keys[4], Vec::<String>::new());
        let located = varied().remove(0).into_span_data();
        assert_eq!(located.attributes[5], KeyValue::new("city", "Zürich ✓"));
        assert_eq!(located.attributes[6], KeyValue::new("empty", ""));
        assert_eq!(located.attributes[7].value.as_str().len(), 100);
        let cut = varied().remove(2).into_span_data();
        assert_eq!(cut.dropped_attributes_count, 3);
    }

    #[test]
    fn a_jobs_attributes_come_first_and_keep_their_room() {
        let mut r = record("job");
        r.attributes.clear();
        r.job_status = Some("unknown".into());
        let limits = limits(3);
        for i in 0..3 {
            r.set_attribute(KeyValue::new("k", i), &limits);
        }
        r.set_attribute(KeyValue::new(JOB_STATUS, "failed"), &limits);
        let data = r.into_span_data();
        assert_eq!(data.attributes.len(), 3);
        assert_eq!(data.dropped_attributes_count, 2);
        assert_eq!(data.attributes[0], KeyValue::new(JOB_STATUS, "failed"));
        assert_eq!(data.attributes[1], KeyValue::new(JOB_DURATION, 1.5));
        assert_eq!(data.instrumentation_scope.name(), "my-crate");
        assert_eq!(data.instrumentation_scope.version(), Some("1.2.3"));
    }
}
