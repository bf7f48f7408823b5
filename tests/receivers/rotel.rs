//! Rotel (`pip install --pre rotel==0.0.1a15`): its `rotel-agent`, run with a
//! blackhole exporter and `--debug-log traces`, prints each received span.

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
