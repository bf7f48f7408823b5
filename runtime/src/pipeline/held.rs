//! Sampling that keeps errors: the spans of a local trace not chosen up front
//! are held here, per local root (the outermost span of that trace in this
//! process), until the root ends; then the whole local trace is exported if any
//! of its spans ended with status Error, else discarded. A span that ends after
//! its trace was decided follows the decision.
//!
//! Bounded. A trace that holds its maximum, or whose oldest held span waited
//! the longest allowed, decides what it holds at once: exported if anything
//! failed so far (the trace is then kept to its end), else discarded, counted
//! as forced out, and holding starts again. Beyond the total, the traces that
//! have held longest are decided that way first. The waits and the total are
//! checked as spans end and, at most once a second, as new traces start; the
//! shutdown decides every trace still open.

use crate::pipeline::queue::{Queue, push_to_all};
use crate::pipeline::record::Record;
use crate::pipeline::truncate::truncate_record;
use opentelemetry::trace::{SpanContext, SpanId, Status, TraceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// The bounds on what is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HoldLimits {
    pub(crate) per_trace: usize,
    pub(crate) total: usize,
    pub(crate) max_wait: Duration,
}

/// How often new traces may sweep the others for waits and the total.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One installation's holding: the bounds, the counts, the open traces, and
/// where kept spans go.
#[derive(Debug)]
pub(crate) struct Holding {
    pub(crate) ratio: f64,
    limits: HoldLimits,
    held: AtomicUsize,
    discarded: AtomicU64,
    forced_out: AtomicU64,
    queues: Arc<[Arc<Queue>]>,
    /// The attribute value length limit, applied as a span is held.
    value_length: Option<usize>,
    /// The traces not decided yet (weak: a trace lives in its spans' contexts).
    open: Mutex<Vec<Weak<HeldTrace>>>,
    last_sweep: Mutex<Instant>,
    /// Held spans of the `tracing` bridge, by span id: their contexts are made
    /// by tracing-opentelemetry and cannot carry their trace to their children.
    bridged: Mutex<HashMap<SpanId, Weak<HeldTrace>>>,
    bridged_count: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Holding {
    pub(crate) fn new(
        ratio: f64,
        limits: HoldLimits,
        queues: Arc<[Arc<Queue>]>,
        value_length: Option<usize>,
    ) -> Self {
        Holding {
            ratio,
            limits,
            value_length,
            held: AtomicUsize::new(0),
            discarded: AtomicU64::new(0),
            forced_out: AtomicU64::new(0),
            queues,
            open: Mutex::new(Vec::new()),
            last_sweep: Mutex::new(Instant::now()),
            bridged: Mutex::new(HashMap::new()),
            bridged_count: AtomicUsize::new(0),
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

    /// A new local trace, rooted at `root`. Now and then it sweeps the others.
    pub(crate) fn open(self: &Arc<Self>, trace: TraceId, root: SpanId) -> Arc<HeldTrace> {
        let held = Arc::new(HeldTrace {
            trace,
            root,
            holding: Arc::clone(self),
            state: Mutex::new(State {
                spans: Vec::new(),
                failed: false,
                decided: None,
                since: None,
                windowed: false,
            }),
        });
        let sweep = {
            let mut last = lock(&self.last_sweep);
            let due = last.elapsed() >= SWEEP_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        let mut open = lock(&self.open);
        if sweep {
            open.retain(|trace| trace.strong_count() > 0);
        }
        open.push(Arc::downgrade(&held));
        drop(open);
        if sweep {
            self.sweep(false);
        }
        held
    }

    /// Decides what open traces hold: every trace at shutdown (`all`); else
    /// those whose oldest held span waited too long, then, while the total is
    /// exceeded, those that have held longest.
    pub(crate) fn sweep(&self, all: bool) {
        let traces: Vec<Arc<HeldTrace>> = {
            let mut open = lock(&self.open);
            open.retain(|trace| trace.strong_count() > 0);
            open.iter().filter_map(Weak::upgrade).collect()
        };
        if all {
            for trace in &traces {
                trace.decide_now(true);
            }
            return;
        }
        let mut waiting: Vec<(Instant, &Arc<HeldTrace>)> = traces
            .iter()
            .filter_map(|trace| Some((trace.held_since()?, trace)))
            .collect();
        waiting.sort_by_key(|(since, _)| *since);
        // Over the total: down to nine tenths of it at once, so that the next
        // spans do not sweep again one by one.
        let total = self.limits.total;
        let target = if self.held.load(Ordering::Relaxed) > total {
            total - total / 10
        } else {
            usize::MAX
        };
        for (since, trace) in waiting {
            let over = self.held.load(Ordering::Relaxed) > target;
            if !over && since.elapsed() < self.limits.max_wait {
                break;
            }
            trace.decide_now(false);
        }
    }

    /// The held trace a `tracing` span with this id belongs to.
    pub(crate) fn bridged(&self, span: SpanId) -> Option<Arc<HeldTrace>> {
        if self.bridged_count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        lock(&self.bridged).get(&span).and_then(Weak::upgrade)
    }

    /// Remembers a held `tracing` span, for its children.
    #[cfg(feature = "tracing")]
    pub(crate) fn remember_bridged(&self, span: SpanId, trace: &Arc<HeldTrace>) {
        let mut bridged = lock(&self.bridged);
        bridged.insert(span, Arc::downgrade(trace));
        self.bridged_count.store(bridged.len(), Ordering::Relaxed);
    }

    /// Forgets a held `tracing` span once its last context is gone (its
    /// children may start until then, after it ended too).
    pub(crate) fn forget_bridged(&self, span: SpanId) {
        if self.bridged_count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut bridged = lock(&self.bridged);
        bridged.remove(&span);
        self.bridged_count.store(bridged.len(), Ordering::Relaxed);
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
    /// Boxed as they arrive; a kept trace's records are moved out of their
    /// boxes into the queues' lists (a clone for every queue but the last).
    #[allow(clippy::vec_box)]
    spans: Vec<Box<Record>>,
    failed: bool,
    /// `Some(keep)` once decided for good.
    decided: Option<bool>,
    /// When the oldest span held now arrived.
    since: Option<Instant>,
    /// A bound made the trace decide before its root ended: a long-lived root
    /// (a worker loop, a server's `main`), decided window by window from then
    /// on, so that one failure does not export all that follows.
    windowed: bool,
}

/// Why a trace decides what it holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Its root ended, or the shutdown: for good.
    Last,
    /// A span failed: kept, for good (window by window once windowed).
    Failure,
    /// A bound: what is held goes (exported if anything failed).
    Bound,
}

/// What deciding a trace's held spans does with them.
enum Fate {
    Kept,
    /// At the root's end or the shutdown: what the sampler is for.
    Discarded,
    /// Early, by a bound.
    ForcedOut,
}

impl HeldTrace {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Whether this trace is held by `holding` (an installation's).
    pub(crate) fn held_by(&self, holding: &Arc<Holding>) -> bool {
        Arc::ptr_eq(&self.holding, holding)
    }

    /// The span `span` of this trace is gone with its last context.
    pub(crate) fn span_gone(&self, span: SpanId) {
        self.holding.forget_bridged(span);
    }

    fn held_since(&self) -> Option<Instant> {
        let state = self.lock();
        state.decided.is_none().then_some(state.since).flatten()
    }

    /// A span of this local trace ended.
    pub(crate) fn ended(&self, mut record: Box<Record>) {
        let holding = &*self.holding;
        if let Some(limit) = holding.value_length {
            // Held records are bounded by count: their values by length too.
            truncate_record(&mut record, limit);
        }
        let span = record.context.span_id();
        let failed = matches!(record.status, Status::Error { .. });
        let is_root = span == self.root;
        let mut state = self.lock();
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
        state.since.get_or_insert_with(Instant::now);
        state.spans.push(record);
        let total = holding.held.fetch_add(1, Ordering::Relaxed) + 1;
        let limits = holding.limits;
        let full = state.spans.len() >= limits.per_trace
            || state
                .since
                .is_some_and(|since| since.elapsed() >= limits.max_wait);
        // A failure decides at once (the trace is kept whatever follows), so
        // that nothing of it waits in memory for a root that may never end.
        let why = if is_root {
            Some(Why::Last)
        } else if state.failed {
            Some(Why::Failure)
        } else if full {
            Some(Why::Bound)
        } else {
            None
        };
        match why {
            Some(why) => Self::decide(holding, state, why),
            None => drop(state),
        }
        if total > limits.total {
            holding.sweep(false);
        }
    }

    /// Decides what the trace holds now: at the shutdown (`last`), or early,
    /// by a bound.
    fn decide_now(&self, last: bool) {
        let state = self.lock();
        if state.decided.is_none() && (last || !state.spans.is_empty()) {
            let why = if last { Why::Last } else { Why::Bound };
            Self::decide(&self.holding, state, why);
        }
    }

    /// Exports the held spans if anything failed, else discards them; `last`:
    /// the decision holds for the rest of the trace.
    fn decide(holding: &Holding, mut state: MutexGuard<'_, State>, why: Why) {
        let keep = state.failed;
        let spans = std::mem::take(&mut state.spans);
        state.since = None;
        holding.held.fetch_sub(spans.len(), Ordering::Relaxed);
        let last = why == Why::Last;
        match why {
            Why::Last => state.decided = Some(keep),
            Why::Failure if !state.windowed => state.decided = Some(true),
            // A long-lived root: this window goes, the next is held afresh.
            Why::Failure | Why::Bound => {
                state.windowed = true;
                state.failed = false;
            }
        }
        drop(state);
        let fate = match (keep, last) {
            (true, _) => Fate::Kept,
            (false, true) => Fate::Discarded,
            (false, false) => Fate::ForcedOut,
        };
        match fate {
            Fate::Kept => spans.into_iter().for_each(|span| holding.keep(span)),
            Fate::Discarded => {
                holding
                    .discarded
                    .fetch_add(spans.len() as u64, Ordering::Relaxed);
            }
            Fate::ForcedOut => {
                holding
                    .forced_out
                    .fetch_add(spans.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for HeldTrace {
    /// The last context of the trace is gone with spans still held (a root
    /// that never ended): decided on what they say.
    fn drop(&mut self) {
        let state = lock(&self.state);
        if state.decided.is_none() && !state.spans.is_empty() {
            Self::decide(&self.holding, state, Why::Last);
        }
    }
}

/// The held trace a context belongs to, as a context value.
#[derive(Debug, Clone)]
pub(crate) struct InHeldTrace(pub(crate) Arc<HeldTrace>);
