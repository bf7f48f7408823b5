//! Rotel (`pip install --pre rotel==0.0.1a15`): its `rotel-agent`, run with a
//! blackhole exporter and `--debug-log traces --debug-log metrics`, prints each
//! received span and metric.

use super::{Received, free_ports, wait_for};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Rotel {
    child: Child,
    pub grpc_port: u16,
    pub http_port: u16,
    output: Arc<Mutex<String>>,
}

fn agent_path() -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "Rotel is not installed: pip install --pre rotel==0.0.1a15 (scripts/test does)"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Rotel {
    /// Starts on free ports; if another process takes one of them between the
    /// pick and the agent's bind, the agent exits and it tries fresh ports.
    pub fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let [grpc, http] = free_ports::<2>();
            match Self::try_start_on(grpc, http) {
                Ok(rotel) => return rotel,
                Err(why) => failures.push(why),
            }
        }
        panic!("rotel-agent did not start: {failures:#?}");
    }

    pub fn start_on(grpc_port: u16, http_port: u16) -> Self {
        Self::try_start_on(grpc_port, http_port).unwrap_or_else(|why| panic!("{why}"))
    }

    fn try_start_on(grpc_port: u16, http_port: u16) -> Result<Self, String> {
        let mut child = Command::new(agent_path())
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc_port}"),
            ])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args([
                "--exporter",
                "blackhole",
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log-verbosity",
                "detailed",
            ])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rotel-agent");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut text = sink.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            });
        }
        let mut rotel = Rotel {
            child,
            grpc_port,
            http_port,
            output,
        };
        // A cold first start on a new machine can take a while; an agent that
        // exits (a port taken) is reported at once, with what it printed.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = std::net::TcpStream::connect(("127.0.0.1", grpc_port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", http_port)).is_ok();
            if up {
                return Ok(rotel);
            }
            if let Ok(Some(status)) = rotel.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100)); // let the readers drain
                return Err(format!(
                    "rotel-agent on ports {grpc_port}/{http_port} exited ({status}): {}",
                    rotel.output.lock().unwrap()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "rotel-agent on ports {grpc_port}/{http_port} not listening after 60 s: {}",
                    rotel.output.lock().unwrap()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the agent printed so far, without colours.
    pub fn output(&self) -> String {
        strip_ansi(&self.output.lock().unwrap())
    }

    /// Every span printed so far.
    pub fn spans(&self) -> Vec<Received> {
        let text = strip_ansi(&self.output.lock().unwrap());
        parse(&text)
    }

    /// Waits until `count` spans of `trace_id` have arrived.
    pub fn wait_for_trace(&self, trace_id: &str, count: usize) -> Vec<Received> {
        wait_for(
            Duration::from_secs(20),
            &format!("{count} spans of trace {trace_id} at rotel"),
            || {
                let spans: Vec<Received> = self
                    .spans()
                    .into_iter()
                    .filter(|s| s.trace_id == trace_id)
                    .collect();
                (spans.len() >= count).then_some(spans)
            },
        )
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses Rotel's detailed debug output into spans.
fn parse(text: &str) -> Vec<Received> {
    let mut spans = Vec::new();
    let mut service = String::new();
    let mut current: Option<Received> = None;
    // Where `-> key: value` lines go: resource, span attributes, or the last event.
    #[derive(PartialEq)]
    enum Section {
        Resource,
        Span,
        Event,
        Other,
    }
    let mut section = Section::Other;
    for line in text.lines() {
        let trimmed = line.trim();
        let field = |name: &str| {
            trimmed
                .strip_prefix(name)
                .map(|rest| rest.trim_start().trim_start_matches(':').trim().to_owned())
        };
        if trimmed.starts_with("ResourceSpans #") {
            spans.extend(current.take());
            section = Section::Other;
        } else if trimmed == "Resource attributes:" {
            section = Section::Resource;
        } else if trimmed.starts_with("Span #") {
            spans.extend(current.take());
            current = Some(Received {
                service_name: service.clone(),
                ..Received::default()
            });
            section = Section::Other;
        } else if trimmed == "Attributes:" {
            section = Section::Span;
        } else if trimmed.starts_with("SpanEvent #") {
            section = Section::Event;
            if let Some(span) = current.as_mut() {
                span.events.push((String::new(), Vec::new()));
            }
        } else if trimmed.starts_with("ScopeSpans")
            || trimmed.starts_with("InstrumentationScope")
            || trimmed == "Events:"
            || trimmed.starts_with("Links:")
        {
            if trimmed != "Events:" {
                section = Section::Other;
            }
        } else if let Some(span) = current.as_mut() {
            if let Some(v) = field("Trace ID") {
                span.trace_id = v;
            } else if let Some(v) = field("Parent ID") {
                span.parent_id = v;
            } else if let Some(v) = field("ID") {
                span.span_id = v;
            } else if let Some(v) = field("Name").filter(|_| section != Section::Event) {
                span.name = v;
            } else if let Some(v) = field("Kind") {
                span.kind = v.trim_start_matches("SPAN_KIND_").to_lowercase();
            } else if let Some(v) = field("Status code") {
                span.status = v.trim_start_matches("STATUS_CODE_").to_lowercase();
            } else if let Some(v) = field("Status message") {
                span.status_message = v;
            } else if let Some(rest) = trimmed.strip_prefix("-> ") {
                let (key, value) = rest.split_once(": ").unwrap_or((rest, ""));
                match section {
                    Section::Span => span.attributes.push((key.to_owned(), value.to_owned())),
                    Section::Event => {
                        let event = span.events.last_mut().unwrap();
                        match key {
                            "Name" => event.0 = value.to_owned(),
                            "Timestamp" | "DroppedAttributesCount" => {}
                            _ if key.starts_with("Attributes") => {}
                            _ => event.1.push((key.to_owned(), value.to_owned())),
                        }
                    }
                    _ => {}
                }
            }
        } else if section == Section::Resource
            && let Some(rest) = trimmed.strip_prefix("-> service.name: ")
        {
            service = rest
                .trim_start_matches("Str(")
                .trim_end_matches(')')
                .to_owned();
        }
    }
    spans.extend(current);
    spans
}

/// One data point of a metric, as Rotel printed it.
#[derive(Debug, Clone, Default)]
pub struct ReceivedPoint {
    pub metric: String,
    pub unit: String,
    /// `Histogram` or `Sum`.
    pub data_type: String,
    pub temporality: String,
    pub monotonic: Option<bool>,
    /// Values with their wire type, as for spans: `Str(x)`, `Int(7)`.
    pub attributes: Vec<(String, String)>,
    pub count: Option<u64>,
    /// A sum's value.
    pub value: Option<String>,
    pub bounds: Vec<f64>,
    pub buckets: Vec<u64>,
    /// Exemplars' trace and span ids.
    pub exemplars: Vec<(String, String)>,
}

impl ReceivedPoint {
    pub fn attr(&self, key: &str) -> Option<&str> {
        super::attr_of(&self.attributes, key)
    }
}

impl Rotel {
    /// Every metric data point printed so far, in the order received.
    pub fn metric_points(&self) -> Vec<ReceivedPoint> {
        parse_metrics(&self.output())
    }

    /// The last point received of each series of `metric` (exports are
    /// cumulative: the last holds the totals), once `ready` holds for them and
    /// the agent's output has stopped growing (a point is printed line by
    /// line: its exemplars come last).
    pub fn wait_for_metric(
        &self,
        metric: &str,
        ready: impl Fn(&[ReceivedPoint]) -> bool,
    ) -> Vec<ReceivedPoint> {
        let mut seen = 0;
        wait_for(
            Duration::from_secs(20),
            &format!("metric {metric} at rotel"),
            || {
                let output = self.output();
                let settled = output.len() == seen;
                seen = output.len();
                let latest = latest(parse_metrics(&output), metric);
                (settled && !latest.is_empty() && ready(&latest)).then_some(latest)
            },
        )
    }
}

/// The last point of each series (metric and attribute set) of `metric`.
pub fn latest(points: Vec<ReceivedPoint>, metric: &str) -> Vec<ReceivedPoint> {
    let mut latest: Vec<ReceivedPoint> = Vec::new();
    for point in points.into_iter().filter(|p| p.metric == metric) {
        match latest.iter_mut().find(|p| p.attributes == point.attributes) {
            Some(slot) => *slot = point,
            None => latest.push(point),
        }
    }
    latest
}

#[derive(PartialEq)]
enum Section {
    Other,
    Descriptor,
    Attributes,
    Exemplar,
}

fn parse_metrics(text: &str) -> Vec<ReceivedPoint> {
    let mut points: Vec<ReceivedPoint> = Vec::new();
    let mut metric = ReceivedPoint::default();
    let mut in_metrics = false;
    let mut section = Section::Other;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("ResourceMetrics #") {
            in_metrics = true;
            section = Section::Other;
            continue;
        }
        if trimmed.starts_with("ResourceSpans #") || trimmed.starts_with("ResourceLogs #") {
            in_metrics = false;
            continue;
        }
        if !in_metrics {
            continue;
        }
        if trimmed.starts_with("Metric #") {
            metric = ReceivedPoint::default();
            section = Section::Other;
        } else if trimmed == "Descriptor:" {
            section = Section::Descriptor;
        } else if trimmed.starts_with("HistogramDataPoints #")
            || trimmed.starts_with("NumberDataPoints #")
        {
            points.push(metric.clone());
            section = Section::Other;
        } else if trimmed == "Data point attributes:" {
            section = Section::Attributes;
        } else if trimmed.starts_with("Exemplar #") {
            section = Section::Exemplar;
            if let Some(point) = points.last_mut() {
                point.exemplars.push(Default::default());
            }
        } else if let Some(field) = trimmed.strip_prefix("-> ") {
            let Some((key, value)) = field.split_once(": ") else {
                continue;
            };
            let (key, value) = (key.to_owned(), value.to_owned());
            match section {
                Section::Descriptor => match key.as_str() {
                    "Name" => metric.metric = value,
                    "Unit" => metric.unit = value,
                    "DataType" => metric.data_type = value,
                    "AggregationTemporality" => metric.temporality = value,
                    "IsMonotonic" => metric.monotonic = Some(value == "true"),
                    _ => {}
                },
                Section::Attributes => {
                    if let Some(point) = points.last_mut() {
                        point.attributes.push((key, value));
                    }
                }
                Section::Exemplar => {
                    if let Some(exemplar) = points.last_mut().and_then(|p| p.exemplars.last_mut()) {
                        match key.as_str() {
                            "Trace ID" => exemplar.0 = value,
                            "Span ID" => exemplar.1 = value,
                            _ => {}
                        }
                    }
                }
                Section::Other => {}
            }
        } else if let Some(point) = points.last_mut() {
            section = Section::Other;
            if let Some(count) = trimmed.strip_prefix("Count: ") {
                point.count = count.parse().ok();
            } else if let Some(value) = trimmed.strip_prefix("Value: ") {
                point.value = Some(value.to_owned());
            } else if let Some((_, bound)) = trimmed
                .strip_prefix("ExplicitBounds #")
                .and_then(|rest| rest.split_once(": "))
            {
                point.bounds.push(bound.parse().unwrap_or(f64::NAN));
            } else if let Some((_, count)) = trimmed
                .strip_prefix("Buckets #")
                .and_then(|rest| rest.split_once("Count: "))
            {
                point.buckets.push(count.parse().unwrap_or(u64::MAX));
            }
        }
    }
    points
}
