//! Draws one trace as a tree of spans with a duration bar each: what a person
//! reads first.

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::trace::SpanData;
use std::fmt::Write as _;
use std::time::Duration;

const NAME_WIDTH: usize = 44;

/// Draws one trace. `bar_width` columns span the trace from its first start to its
/// last end.
pub(crate) fn render_trace(spans: &[SpanData], bar_width: usize, color: bool) -> String {
    let Some(first) = spans.iter().map(|s| s.start_time).min() else {
        return String::new();
    };
    let last = spans.iter().map(|s| s.end_time).max().unwrap_or(first);
    let total = last.duration_since(first).unwrap_or_default();
    let trace_id = spans[0].span_context.trace_id();
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {} span{}  {}",
        paint("1", "trace"),
        trace_id,
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        duration(total)
    );
    let ids: Vec<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| !ids.contains(&s.parent_span_id))
        .collect();
    roots.sort_by_key(|s| s.start_time);
    let mut rows = Vec::new();
    for root in roots {
        walk(spans, root, 0, &mut rows);
    }
    for (depth, span) in rows {
        let indent = "  ".repeat(depth);
        let name = truncate(&format!("{indent}{}", span.name), NAME_WIDTH);
        let offset = span.start_time.duration_since(first).unwrap_or_default();
        let length = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let bar = bar(offset, length, total, bar_width);
        let failed = matches!(span.status, Status::Error { .. });
        let bar = paint(if failed { "31" } else { "36" }, &bar);
        let kind = format!("{:?}", span.span_kind).to_lowercase();
        let mut line = format!(
            "{name:<NAME_WIDTH$} {bar} {:>9} {kind:<8}",
            duration(length)
        );
        match &span.status {
            Status::Error { description } => {
                line.push(' ');
                line.push_str(&paint(
                    "31;1",
                    &format!("ERROR {}", truncate(description, 60)),
                ));
            }
            Status::Ok => line.push_str(" ok"),
            Status::Unset => {}
        }
        let attrs = key_attributes(span);
        if !attrs.is_empty() {
            line.push_str("  ");
            line.push_str(&paint("2", &attrs));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn walk<'a>(
    spans: &'a [SpanData],
    span: &'a SpanData,
    depth: usize,
    rows: &mut Vec<(usize, &'a SpanData)>,
) {
    rows.push((depth, span));
    let id = span.span_context.span_id();
    let mut children: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == id && s.span_context.span_id() != id)
        .collect();
    children.sort_by_key(|s| s.start_time);
    for child in children {
        walk(spans, child, depth + 1, rows);
    }
}

fn bar(offset: Duration, length: Duration, total: Duration, width: usize) -> String {
    let total = total.as_secs_f64();
    let (start, cells) = if total <= 0.0 {
        (0, width)
    } else {
        let start = ((offset.as_secs_f64() / total) * width as f64).floor() as usize;
        let cells = ((length.as_secs_f64() / total) * width as f64)
            .round()
            .max(1.0) as usize;
        (start.min(width - 1), cells)
    };
    let cells = cells.min(width - start);
    format!(
        "{}{}{}",
        " ".repeat(start),
        "█".repeat(cells),
        " ".repeat(width - start - cells)
    )
}

fn duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1e6 {
        format!("{:.1}ms", micros / 1000.0)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// The attributes a person wants first: the job's, then the rest, without the
/// source location; as many as fit in about 100 columns.
fn key_attributes(span: &SpanData) -> String {
    const FIRST: &[&str] = &["job.status", "job.id", "job.attempt", "error.type"];
    let rank = |key: &str| FIRST.iter().position(|k| *k == key).unwrap_or(FIRST.len());
    let mut shown: Vec<&opentelemetry::KeyValue> = span
        .attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code.") && kv.key.as_str() != "job.duration_ms")
        .collect();
    shown.sort_by_key(|kv| rank(kv.key.as_str()));
    let mut line = String::new();
    for kv in shown {
        let item = match &kv.value {
            Value::String(s) => format!("{}={}", kv.key, truncate(s.as_str(), 40)),
            other => format!("{}={other}", kv.key),
        };
        if !line.is_empty() && line.chars().count() + item.chars().count() > 100 {
            line.push_str(" …");
            break;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::render_trace;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
    use std::time::{Duration, SystemTime};

    const TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;

    /// Compares with `testdata/<name>`; `BLESS=1` rewrites the file instead.
    fn golden(actual: &str, name: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            actual,
            expected,
            "{} differs (BLESS=1 rewrites it)",
            path.display()
        );
    }

    struct Spec<'a> {
        id: u64,
        parent: u64,
        name: &'a str,
        start_ms: u64,
        duration_ms: u64,
        kind: SpanKind,
        status: Status,
        attributes: Vec<KeyValue>,
    }

    fn span(spec: Spec<'_>) -> SpanData {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let start = epoch + Duration::from_millis(spec.start_ms);
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(TRACE),
                SpanId::from(spec.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(spec.parent),
            parent_span_is_remote: false,
            span_kind: spec.kind,
            name: spec.name.to_owned().into(),
            start_time: start,
            end_time: start + Duration::from_millis(spec.duration_ms),
            attributes: spec.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: spec.status,
            instrumentation_scope: InstrumentationScope::builder("spanwright").build(),
        }
    }

    fn pipeline() -> Vec<SpanData> {
        let internal = |id, parent, name, start_ms, duration_ms| Spec {
            id,
            parent,
            name,
            start_ms,
            duration_ms,
            kind: SpanKind::Client,
            status: Status::Unset,
            attributes: vec![KeyValue::new("code.line.number", 10)],
        };
        vec![
            span(Spec {
                kind: SpanKind::Server,
                attributes: vec![
                    KeyValue::new("http.route", "/jobs"),
                    KeyValue::new("code.file.path", "x.rs"),
                ],
                ..internal(1, 0, "POST /jobs", 0, 40)
            }),
            span(Spec {
                kind: SpanKind::Consumer,
                status: Status::error("model unknown is not served"),
                attributes: vec![
                    KeyValue::new("messaging.system", "redis"),
                    KeyValue::new("job.status", "failed"),
                    KeyValue::new("job.id", 5),
                ],
                ..internal(2, 1, "jobs process", 5, 30)
            }),
            span(internal(3, 2, "storage.download", 6, 8)),
            span(Spec {
                status: Status::error("model unknown is not served"),
                ..internal(4, 2, "model.infer", 15, 19)
            }),
        ]
    }

    #[test]
    fn a_trace_as_a_waterfall() {
        golden(
            &render_trace(&pipeline(), 32, false),
            "console_pipeline.txt",
        );
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render_trace(&pipeline(), 32, false).contains('\u{1b}'));
        let coloured = render_trace(&pipeline(), 32, true);
        assert!(
            coloured.contains("\u{1b}[31;1mERROR model unknown is not served\u{1b}[0m"),
            "{coloured}"
        );
    }

    #[test]
    fn sixty_spans_with_long_names() {
        let mut spans = vec![span(Spec {
            id: 1,
            parent: 0,
            name: "batch.nightly_reindex_of_every_customer_document_in_the_archive_store",
            start_ms: 0,
            duration_ms: 6_000,
            kind: SpanKind::Consumer,
            status: Status::Unset,
            attributes: vec![KeyValue::new("job.status", "completed")],
        })];
        let names: Vec<String> = (0..59)
            .map(|i| {
                format!(
                    "shard.{i}.reindex_documents_with_a_rather_long_operation_name_{}",
                    "x".repeat(i % 7)
                )
            })
            .collect();
        for (i, name) in names.iter().enumerate() {
            let i = i as u64;
            // Every tenth span is a child of the one before, to draw depth.
            let parent = if i % 10 == 9 { i + 1 } else { 1 };
            spans.push(span(Spec {
                id: i + 2,
                parent,
                name,
                start_ms: i * 100,
                duration_ms: 90 + i % 3,
                kind: SpanKind::Internal,
                status: if i == 30 {
                    Status::error("shard 30 is read-only")
                } else {
                    Status::Unset
                },
                attributes: vec![KeyValue::new("shard", i as i64)],
            }));
        }
        let drawn = render_trace(&spans, 32, false);
        assert_eq!(drawn.lines().count(), 61);
        golden(&drawn, "console_sixty_spans.txt");
    }
}
