//! Otelite (`cargo install --locked otelite --version 0.1.156`): stores what it
//! receives and serves it back at `GET /api/traces/{trace_id}`. Its API renders
//! attribute values as text, so values are compared as text here (Rotel checks
//! the wire types).

use super::{Received, free_ports, wait_for};
use serde_json::Value as Json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Otelite {
    child: Child,
    _data: TempDir,
    pub grpc_port: u16,
    pub http_port: u16,
    api: String,
}

/// A scratch directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Otelite {
    pub fn start() -> Self {
        let [grpc_port, http_port, api_port] = free_ports::<3>();
        let data = std::env::temp_dir().join(format!(
            "spanwright-otelite-{}-{api_port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&data).unwrap();
        let child = Command::new("otelite")
            .args(["serve", "--addr", &format!("127.0.0.1:{api_port}"), "--log-level", "warn"])
            .env("OTELITE_DATA_DIR", &data)
            .env("OTELITE_OTLP_GRPC_PORT", grpc_port.to_string())
            .env("OTELITE_OTLP_HTTP_PORT", http_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("otelite must be installed: cargo install --locked otelite --version 0.1.156 (scripts/test does)");
        let otelite = Otelite {
            child,
            _data: TempDir(data),
            grpc_port,
            http_port,
            api: format!("http://127.0.0.1:{api_port}"),
        };
        wait_for(Duration::from_secs(30), "otelite /api/health", || {
            let health: Json = ureq::get(format!("{}/api/health", otelite.api))
                .call()
                .ok()?
                .body_mut()
                .read_json()
                .ok()?;
            (health["status"] == "healthy").then_some(())
        });
        otelite
    }

    /// Waits until `count` spans of `trace_id` can be read back.
    pub fn wait_for_trace(&self, trace_id: &str, count: usize) -> Vec<Received> {
        wait_for(
            Duration::from_secs(20),
            &format!("{count} spans of trace {trace_id} at otelite"),
            || {
                let url = format!("{}/api/traces/{trace_id}", self.api);
                let trace: Json = ureq::get(url).call().ok()?.body_mut().read_json().ok()?;
                let spans: Vec<Received> =
                    trace["spans"].as_array()?.iter().map(received).collect();
                (spans.len() >= count).then_some(spans)
            },
        )
    }
}

impl Drop for Otelite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn pairs(object: &Json) -> Vec<(String, String)> {
    object
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default()
}

fn received(span: &Json) -> Received {
    Received {
        trace_id: text(&span["trace_id"]),
        span_id: text(&span["span_id"]),
        parent_id: text(&span["parent_span_id"]),
        name: text(&span["name"]),
        kind: text(&span["kind"]).to_lowercase(),
        status: text(&span["status"]["code"]).to_lowercase(),
        status_message: text(&span["status"]["message"]),
        attributes: pairs(&span["attributes"]),
        events: span["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| (text(&e["name"]), pairs(&e["attributes"])))
                    .collect()
            })
            .unwrap_or_default(),
        service_name: text(&span["resource"]["attributes"]["service.name"]),
    }
}
