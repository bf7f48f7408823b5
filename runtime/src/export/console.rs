//! The console exporter: collects each trace's spans and prints the trace as a
//! waterfall (see `waterfall`) once it is complete in this process.

use crate::export::waterfall::render_trace;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Prints each trace as a waterfall once it is complete in this process: its local
/// root has ended and no span of it has arrived for [`LINGER`] (spans of jobs that
/// run after the request that queued them still join its tree). Whatever is
/// pending is printed at shutdown.
#[derive(Debug)]
pub(crate) struct ConsoleExporter {
    state: Arc<Mutex<Pending>>,
    stop: Option<mpsc::Sender<()>>,
}

/// How long a finished trace waits for late spans before it is printed.
pub(crate) const LINGER: Duration = Duration::from_millis(300);

#[derive(Debug, Default)]
struct Pending {
    traces: HashMap<TraceId, PendingTrace>,
    color: bool,
}

#[derive(Debug)]
struct PendingTrace {
    spans: Vec<SpanData>,
    last_arrival: Instant,
    root_ended: bool,
}

impl ConsoleExporter {
    pub(crate) fn stdout() -> Self {
        let state = Arc::new(Mutex::new(Pending {
            traces: HashMap::new(),
            color: std::io::stdout().is_terminal(),
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let printer = Arc::clone(&state);
        // The batch processor calls `export` only when spans arrive; this thread
        // prints traces whose linger has run out in between.
        let spawned = std::thread::Builder::new()
            .name("spanwright-console".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(LINGER / 3) {
                    print_due(&printer, false);
                }
            });
        ConsoleExporter {
            state,
            stop: spawned.ok().map(|_| stop),
        }
    }
}

impl Drop for ConsoleExporter {
    fn drop(&mut self) {
        self.stop.take();
        print_due(&self.state, true);
    }
}

fn print_due(state: &Mutex<Pending>, everything: bool) {
    let (due, color) = {
        let mut pending = state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due: Vec<TraceId> = pending
            .traces
            .iter()
            .filter(|(_, t)| everything || (t.root_ended && now - t.last_arrival >= LINGER))
            .map(|(id, _)| *id)
            .collect();
        let mut traces: Vec<PendingTrace> = due
            .iter()
            .filter_map(|id| pending.traces.remove(id))
            .collect();
        traces.sort_by_key(|t| t.spans.iter().map(|s| s.start_time).min());
        (traces, pending.color)
    };
    if due.is_empty() {
        return;
    }
    let text: String = due
        .iter()
        .map(|t| render_trace(&t.spans, 32, color))
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A span whose parent is not in this process: its end completes the local trace.
fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut pending = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for span in batch {
            let root = is_local_root(&span);
            let trace = pending
                .traces
                .entry(span.span_context.trace_id())
                .or_insert_with(|| PendingTrace {
                    spans: Vec::new(),
                    last_arrival: now,
                    root_ended: false,
                });
            trace.last_arrival = now;
            trace.root_ended |= root;
            trace.spans.push(span);
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        print_due(&self.state, true);
        Ok(())
    }
}
