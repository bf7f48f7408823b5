//! The console exporter: collects each trace's spans and prints the trace as a
//! waterfall (see `waterfall`) once it is complete in this process, on stderr
//! (stdout stays for the program's output and JSON logs). Bounded: a trace whose
//! local root never ends (a server's `main`, a consumer loop) is printed in parts
//! marked incomplete, never held without limit.

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
/// pending is printed at shutdown, and a trace holding [`MAX_HELD_PER_TRACE`]
/// spans (or the oldest traces, past [`MAX_HELD`] in all) at once.
pub(crate) struct ConsoleExporter {
    state: Arc<Mutex<Pending>>,
    stop: Option<mpsc::Sender<()>>,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter").finish_non_exhaustive()
    }
}

/// Unfinished spans one trace may hold before they are printed as they are.
pub(crate) const MAX_HELD_PER_TRACE: usize = 1_000;
/// Unfinished spans all traces may hold together.
pub(crate) const MAX_HELD: usize = 10_000;

/// Where the waterfalls go.
type Out = Box<dyn Write + Send>;

/// How long a finished trace waits for late spans before it is printed.
pub(crate) const LINGER: Duration = Duration::from_millis(300);

struct Pending {
    traces: HashMap<TraceId, PendingTrace>,
    /// Spans held in all traces.
    held: usize,
    color: bool,
    out: Out,
}

struct PendingTrace {
    spans: Vec<SpanData>,
    last_arrival: Instant,
    root_ended: bool,
}

impl ConsoleExporter {
    /// Prints to stderr (in color on a terminal).
    pub(crate) fn stderr() -> Self {
        Self::to(Box::new(std::io::stderr()), std::io::stderr().is_terminal())
    }

    pub(crate) fn to(out: Out, color: bool) -> Self {
        let state = Arc::new(Mutex::new(Pending {
            traces: HashMap::new(),
            held: 0,
            color,
            out,
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let printer = Arc::clone(&state);
        // The export queue calls `export` only when spans arrive; this thread
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
    if traces.is_empty() {
        return;
    }
    traces.sort_by_key(|t| t.spans.iter().map(|s| s.start_time).min());
    let text: String = traces.iter().map(|t| render(t, pending.color)).collect();
    pending.held -= traces.iter().map(|t| t.spans.len()).sum::<usize>();
    // A closed or broken stderr loses the drawing, nothing else.
    let _ = pending.out.write_all(text.as_bytes());
    let _ = pending.out.flush();
}

/// A trace's waterfall; one printed before its local root ended says so.
fn render(trace: &PendingTrace, color: bool) -> String {
    let drawing = render_trace(&trace.spans, 32, color);
    if trace.root_ended {
        drawing
    } else {
        format!(
            "(incomplete: {} spans of a trace whose local root has not ended yet; later spans follow in another drawing)\n{drawing}",
            trace.spans.len()
        )
    }
}

/// Prints, as they are, the traces over the per-trace bound and then the oldest
/// ones until all traces together are within [`MAX_HELD`].
fn print_over_bounds(pending: &mut Pending) {
    let mut out: Vec<PendingTrace> = Vec::new();
    let full: Vec<TraceId> = pending
        .traces
        .iter()
        .filter(|(_, t)| t.spans.len() >= MAX_HELD_PER_TRACE)
        .map(|(id, _)| *id)
        .collect();
    out.extend(full.iter().filter_map(|id| pending.traces.remove(id)));
    let mut held = pending.held - out.iter().map(|t| t.spans.len()).sum::<usize>();
    while held > MAX_HELD {
        let Some(oldest) = pending
            .traces
            .iter()
            .min_by_key(|(_, t)| t.last_arrival)
            .map(|(id, _)| *id)
        else {
            break;
        };
        if let Some(trace) = pending.traces.remove(&oldest) {
            held -= trace.spans.len();
            out.push(trace);
        }
    }
    pending.held = held;
    let text: String = out.iter().map(|t| render(t, pending.color)).collect();
    let _ = pending.out.write_all(text.as_bytes());
    let _ = pending.out.flush();
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
            let trace_full = trace.spans.len() >= MAX_HELD_PER_TRACE;
            pending.held += 1;
            if trace_full || pending.held > MAX_HELD {
                print_over_bounds(&mut pending);
            }
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        print_due(&self.state, true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::SystemTime;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn child(trace: u128, id: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id + 2),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            // The root (span 1) never ends: every span here waits for it.
            parent_span_id: SpanId::from(1),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "child".into(),
            start_time: SystemTime::now(),
            end_time: SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    fn held(exporter: &ConsoleExporter) -> usize {
        let pending = exporter.state.lock().unwrap();
        assert_eq!(
            pending.held,
            pending
                .traces
                .values()
                .map(|t| t.spans.len())
                .sum::<usize>()
        );
        pending.held
    }

    #[test]
    fn a_root_that_never_ends_holds_a_bounded_number_of_spans() {
        let out = Captured::default();
        let exporter = ConsoleExporter::to(Box::new(out.clone()), false);
        for id in 0..5_500 {
            futures_lite_block_on(exporter.export(vec![child(7, id)])).unwrap();
            assert!(held(&exporter) < MAX_HELD_PER_TRACE);
        }
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("(incomplete: 1000 spans").count(),
            5,
            "{}",
            &text[..200]
        );
        assert_eq!(held(&exporter), 500);
    }

    #[test]
    fn all_traces_together_stay_within_the_total_bound() {
        let exporter = ConsoleExporter::to(Box::new(Captured::default()), false);
        for trace in 0..40u128 {
            let batch = (0..500).map(|id| child(trace + 1, id)).collect();
            futures_lite_block_on(exporter.export(batch)).unwrap();
            assert!(held(&exporter) <= MAX_HELD);
        }
    }

    /// The console exporter's `export` never suspends.
    fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => unreachable!("export never suspends"),
        }
    }
}
