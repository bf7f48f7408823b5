//! Sampling that keeps errors: the spans of a local trace not chosen up front
//! are held here, per local root (the outermost span of that trace in this
//! process), until the root ends; then the whole local trace is exported if any
//! of its spans ended with status Error, else discarded. Bounded: a trace that
//! holds its maximum, a total beyond the maximum, or a root older than the
//! longest wait decides what it holds at once (exported if anything failed so
//! far, after which the trace is kept; else discarded, counted as forced out, and
//! holding starts again). A span that ends after its trace was decided follows
//! the decision.

use crate::pipeline::queue::{Queue, push_to_all};
use crate::pipeline::record::Record;
use opentelemetry::trace::{SpanContext, SpanId, Status, TraceId};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bounds on what is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HoldLimits {
    pub(crate) per_trace: usize,
    pub(crate) total: usize,
    pub(crate) max_wait: Duration,
}

/// One installation's holding: the bounds, the counts, and where kept spans go.
#[derive(Debug)]
pub(crate) struct Holding {
    pub(crate) ratio: f64,
    limits: HoldLimits,
    held: AtomicUsize,
    discarded: AtomicU64,
    forced_out: AtomicU64,
    queues: Arc<[Arc<Queue>]>,
}

impl Holding {
    pub(crate) fn new(ratio: f64, limits: HoldLimits, queues: Arc<[Arc<Queue>]>) -> Self {
        Holding {
            ratio,
            limits,
            held: AtomicUsize::new(0),
            discarded: AtomicU64::new(0),
            forced_out: AtomicU64::new(0),
            queues,
        }
    }

    /// Spans discarded because their local trace did not fail, and spans a
    /// bound made it decide early and discard.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.discarded.load(Ordering::Relaxed),
            self.forced_out.load(Ordering::Relaxed),
        )
    }

    /// Whether the trace is chosen up front, as the SDK's `TraceIdRatioBased`
    /// decides (the same traces, so services agree on them).
    pub(crate) fn chosen(&self, trace: TraceId) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        let bound = (self.ratio.max(0.0) * (1u64 << 63) as f64) as u64;
        let bytes = trace.to_bytes();
        let low = u64::from_be_bytes([
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
        ]);
        (low >> 1) < bound
    }

    fn keep(&self, mut record: Box<Record>) {
        // Exported as sampled: the trace was kept after all.
        let cx = &record.context;
        record.context = SpanContext::new(
            cx.trace_id(),
            cx.span_id(),
            cx.trace_flags().with_sampled(true),
            cx.is_remote(),
            cx.trace_state().clone(),
        );
        push_to_all(&self.queues, record);
    }
}

/// A local trace being held, found by its spans in the context.
#[derive(Debug)]
pub(crate) struct HeldTrace {
    pub(crate) trace: TraceId,
    root: SpanId,
    holding: Arc<Holding>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Boxed as they arrive: the records move to the queues as they are.
    #[allow(clippy::vec_box)]
    spans: Vec<Box<Record>>,
    failed: bool,
    /// `Some(keep)` once decided for good.
    decided: Option<bool>,
    since: Instant,
}

impl HeldTrace {
    pub(crate) fn new(trace: TraceId, root: SpanId, holding: Arc<Holding>) -> Self {
        HeldTrace {
            trace,
            root,
            holding,
            state: Mutex::new(State {
                spans: Vec::new(),
                failed: false,
                decided: None,
                since: Instant::now(),
            }),
        }
    }

    /// A span of this local trace ended.
    pub(crate) fn ended(&self, record: Box<Record>) {
        let holding = &*self.holding;
        let failed = matches!(record.status, Status::Error { .. });
        let is_root = record.context.span_id() == self.root;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.decided {
            Some(true) => {
                drop(state);
                return holding.keep(record);
            }
            Some(false) => {
                holding.discarded.fetch_add(1, Ordering::Relaxed);
                return;
            }
            None => {}
        }
        state.failed |= failed;
        if is_root && state.spans.is_empty() {
            // Nothing else held (a trace of one span here): decided at once.
            let keep = state.failed;
            state.decided = Some(keep);
            drop(state);
            if keep {
                holding.keep(record);
            } else {
                holding.discarded.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        state.spans.push(record);
        let total = holding.held.fetch_add(1, Ordering::Relaxed) + 1;
        let limits = holding.limits;
        let bound = state.spans.len() >= limits.per_trace
            || total > limits.total
            || state.since.elapsed() >= limits.max_wait;
        if !is_root && !bound {
            return;
        }
        let keep = state.failed;
        let spans = std::mem::take(&mut state.spans);
        holding.held.fetch_sub(spans.len(), Ordering::Relaxed);
        if is_root || keep {
            state.decided = Some(keep);
        } else {
            state.since = Instant::now();
        }
        drop(state);
        if keep {
            for span in spans {
                holding.keep(span);
            }
        } else if is_root {
            holding
                .discarded
                .fetch_add(spans.len() as u64, Ordering::Relaxed);
        } else {
            holding
                .forced_out
                .fetch_add(spans.len() as u64, Ordering::Relaxed);
        }
    }
}

/// The held trace a context belongs to, as a context value.
#[derive(Debug, Clone)]
pub(crate) struct InHeldTrace(pub(crate) Arc<HeldTrace>);
