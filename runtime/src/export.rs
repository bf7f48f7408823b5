//! Exporters: which one `OTEL_TRACES_EXPORTER` picks, and the console exporter,
//! which draws each finished trace as a waterfall in the terminal.

use crate::config::{InitError, env_var};
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter, TracerProviderBuilder};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

pub(crate) enum ExporterChoice {
    Console,
    None,
    Custom(Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder>),
}

impl ExporterChoice {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ExporterChoice::Console => "console",
            ExporterChoice::None => "none",
            ExporterChoice::Custom(_) => "custom",
        }
    }

    /// `OTEL_TRACES_EXPORTER`; unset means console (OTLP arrives with the `otlp`
    /// features).
    pub(crate) fn from_env() -> Result<(Self, String), InitError> {
        let Some(value) = env_var("OTEL_TRACES_EXPORTER") else {
            return Ok((ExporterChoice::Console, "default".into()));
        };
        let choice = match value.split(',').next().unwrap_or("").trim() {
            "console" => ExporterChoice::Console,
            "none" => ExporterChoice::None,
            _ => {
                return Err(InitError::InvalidVariable {
                    variable: "OTEL_TRACES_EXPORTER",
                    value,
                    accepted: "console or none (this build has no OTLP exporter)".into(),
                });
            }
        };
        Ok((choice, "OTEL_TRACES_EXPORTER".into()))
    }
}

/// Prints each trace when its local root span ends: a tree of its spans, each
/// with a bar placed by its start and sized by its duration.
#[derive(Debug)]
pub(crate) struct ConsoleExporter {
    pending: Mutex<HashMap<TraceId, Vec<SpanData>>>,
    color: bool,
}

impl ConsoleExporter {
    pub(crate) fn stdout() -> Self {
        ConsoleExporter {
            pending: Mutex::new(HashMap::new()),
            color: std::io::stdout().is_terminal(),
        }
    }

    fn print(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// A span whose parent is not in this process: its end completes the local trace.
fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut finished = Vec::new();
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for span in batch {
                let trace_id = span.span_context.trace_id();
                let root = is_local_root(&span);
                pending.entry(trace_id).or_default().push(span);
                if root {
                    finished.extend(pending.remove(&trace_id));
                }
            }
        }
        for spans in finished {
            self.print(&render_trace(&spans, 32, self.color));
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let rest: Vec<_> = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, v)| v)
            .collect();
        for spans in rest {
            self.print(&render_trace(&spans, 32, self.color));
        }
        Ok(())
    }
}

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

/// The attributes a person wants first: everything but the source location.
fn key_attributes(span: &SpanData) -> String {
    let shown: Vec<String> = span
        .attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code."))
        .take(4)
        .map(|kv| match &kv.value {
            Value::String(s) => format!("{}={}", kv.key, truncate(s.as_str(), 40)),
            other => format!("{}={other}", kv.key),
        })
        .collect();
    shown.join(" ")
}
