//! The export queue: ended spans wait here, bounded, for the one thread that
//! exports them in batches. Every span is counted in (`Counters::admit`, which
//! turns it away when the queue is full) and out (exported, or lost in a failed
//! export). The attribute value length limit is applied before a span is queued,
//! so full-size values never wait here.
//!
//! The spans wait in lists of at most a batch under a short lock (a push, or
//! the export thread taking a list), a record in the list itself, moved out of
//! its box as it is queued. A list that reaches the batch size waits as it is,
//! and the callers go on in an empty one, so that an export that falls behind
//! never copies a record again to cut a long list into batches. The export
//! thread is woken once per full batch, when the delay has passed (with no
//! delay, by the first span of a list), by a flush and by the shutdown; it
//! takes the full lists, and the list being filled when the delay has passed,
//! a flush asks or the queue stops, and sends each list as it is, counting its
//! spans out of the queue and handing the emptied list back for the callers'
//! next batch as it goes: at most the queue's size and the batch being sent
//! are held, and lists go round rather than being freed and made anew. Lists
//! are made with room for their batch (up to 4,096 records), and two emptied
//! ones are kept beside the one being filled (about 270 KB apiece of
//! ~530-byte records for the default batch of 512).
//! Measured against
//! std's lock-free bounded channel (a receive per span) this costs about 200
//! instructions a span less over all threads, and delivered as much under
//! overload (BENCHMARKS.md). Dropping the queue without a shutdown (an
//! installation that failed half-way) stops the thread as a shutdown would.

use crate::export::stats::Counters;
use crate::export::wait::wait_while_until;
use crate::pipeline::destination::Destination;
use crate::pipeline::finished::Finished;
use crate::pipeline::record::Record;
use crate::pipeline::truncate::truncate_record;
use crate::setup::batch_settings::BatchSettings;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Emptied lists kept for the next batches, beside the one being filled.
const SPARE_LISTS: usize = 2;
/// The most records a list is made with room for, and the most an emptied
/// list may hold room for to be kept: a larger batch (~530 bytes a record)
/// grows its lists as they fill and frees them once sent.
const LIST_ROOM: usize = 4_096;

/// One exporter's queue and its export thread.
#[derive(Debug)]
pub(crate) struct Queue {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Shut down: spans that end now are not queued.
    closed: AtomicBool,
    /// Wakes the export thread: a full batch (with no delay, the first span
    /// of a list), a flush, the shutdown.
    work: Condvar,
    /// Signalled when a flush is done or the thread has stopped.
    progress: Condvar,
    counters: Arc<Counters>,
    value_length: Option<usize>,
    batch_size: usize,
    delay: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// The list being filled: fewer than a batch.
    spans: Vec<Finished>,
    /// Full batches, oldest first.
    full: VecDeque<Vec<Finished>>,
    /// Lists the export thread emptied, their room kept: a steady load
    /// queues without growing a list each batch.
    spare: Vec<Vec<Finished>>,
    flushes_asked: u64,
    flushes_done: u64,
    stopping: bool,
    stopped: bool,
}

impl State {
    /// A list for the callers to fill: a kept one, or a new one.
    fn next_list(&mut self, batch_size: usize) -> Vec<Finished> {
        self.spare.pop().unwrap_or_else(|| new_list(batch_size))
    }
}

/// Made with room for its whole batch (up to [`LIST_ROOM`]): a list grown by
/// doubling copies its records as it grows, under the lock.
fn new_list(batch_size: usize) -> Vec<Finished> {
    Vec::with_capacity(batch_size.min(LIST_ROOM))
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Queue {
    /// Starts the export thread of `destination`.
    pub(crate) fn start(
        destination: Box<dyn Destination>,
        settings: &BatchSettings,
        value_length: Option<usize>,
        counters: Arc<Counters>,
    ) -> std::io::Result<Arc<Queue>> {
        let batch_size = settings.batch_size.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                spans: new_list(batch_size),
                ..State::default()
            }),
            closed: AtomicBool::new(false),
            work: Condvar::new(),
            progress: Condvar::new(),
            counters,
            value_length,
            batch_size,
            delay: settings.delay,
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("spanwright-export".into())
            .spawn(move || export_loop(&worker, destination))?;
        Ok(Arc::new(Queue { shared }))
    }

    /// Queues an ended span, or counts it dropped when the queue is full.
    pub(crate) fn push(&self, mut span: Finished) {
        if self.admit() {
            if let Some(limit) = self.shared.value_length {
                span.truncate(limit);
            }
            self.append(|spans| spans.push(span));
        }
    }

    /// Queues an ended record, moved out of its box into the list (one copy,
    /// not one per call on the way), or counts it dropped.
    #[inline]
    pub(crate) fn push_record(&self, mut record: Box<Record>) {
        if self.admit() {
            if let Some(limit) = self.shared.value_length {
                truncate_record(&mut record, limit);
            }
            self.append(|spans| {
                // Room first: the record is then copied from its box straight
                // into the list, not through the stack (measured: one copy of
                // its ~530 bytes instead of two).
                spans.reserve(1);
                spans.push(Finished::Record(*record));
            });
        }
    }

    /// Whether a span ending now is queued: counted in, or counted dropped.
    #[inline]
    fn admit(&self) -> bool {
        // Ended after its installation shut down: nothing exports it any
        // more, and its counts are settled.
        !self.shared.closed.load(Ordering::Relaxed) && self.shared.counters.admit()
    }

    #[inline(always)]
    fn append(&self, add: impl FnOnce(&mut Vec<Finished>)) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        add(&mut state.spans);
        // Woken once per batch, not per span; with no delay, by the first
        // span of a list too (the thread waits for it, not for a time).
        let queued = state.spans.len();
        let full = queued >= shared.batch_size;
        if full {
            let next = state.next_list(shared.batch_size);
            let batch = std::mem::replace(&mut state.spans, next);
            state.full.push_back(batch);
        }
        drop(state);
        if full || (queued == 1 && shared.delay.is_zero()) {
            shared.work.notify_one();
        }
    }

    /// Exports everything queued so far; `false` if that took longer than `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.stopped {
            return true;
        }
        state.flushes_asked += 1;
        let target = state.flushes_asked;
        shared.work.notify_one();
        wait_until(shared, state, timeout, |s| {
            s.flushes_done >= target || s.stopped
        })
    }

    /// Exports what is queued and stops the export thread, waiting at most
    /// `timeout`; `false` if it had not stopped by then.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        shared.closed.store(true, Ordering::Relaxed);
        let mut state = shared.lock();
        state.stopping = true;
        shared.work.notify_one();
        wait_until(shared, state, timeout, |s| s.stopped)
    }
}

impl Drop for Queue {
    /// The last handle is gone (after a shutdown, or an installation that
    /// failed before its provider owned the queue): the thread stops.
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.lock().stopping = true;
        self.shared.work.notify_one();
    }
}

/// Waits on the progress signal until `done` holds, at most `timeout`.
fn wait_until(
    shared: &Shared,
    state: MutexGuard<'_, State>,
    timeout: Duration,
    done: impl Fn(&State) -> bool,
) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    wait_while_until(&shared.progress, state, deadline, |s| !done(s)).1
}

/// The export thread: the full batches as they fill; the list being filled
/// when the delay has passed since it last went (the delay counts while full
/// batches drain), when a flush asks, and at shutdown.
fn export_loop(shared: &Shared, mut destination: Box<dyn Destination>) {
    // Nothing the export does is recorded: no span, no bridged event.
    let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
    // `None`: past what an `Instant` holds (on Linux not even the
    // variable's longest delay, `u64::MAX` ms, is; where an `Instant` counts
    // nanoseconds in 64 bits, it is).
    let next_due = || Instant::now().checked_add(shared.delay);
    let mut due = next_due();
    loop {
        let due_now = |due: Option<Instant>| due.is_some_and(|due| Instant::now() >= due);
        let has_work = |s: &mut State| {
            s.stopping
                || s.flushes_asked > s.flushes_done
                || !s.full.is_empty()
                || (!s.spans.is_empty() && due_now(due))
        };
        // With no delay the thread waits for a span (`append` wakes it for the
        // first of a list), not for a time.
        let deadline = due.filter(|_| !shared.delay.is_zero());
        let (mut state, _) =
            wait_while_until(&shared.work, shared.lock(), deadline, |s| !has_work(s));
        let everything = state.stopping || state.flushes_asked > state.flushes_done;
        // The full batches (taken together: one lock for all, but each
        // counted out of the queue only as it is sent), and the list being
        // filled when the delay has passed, a flush asks or the queue stops.
        let mut batches: Vec<Vec<Finished>> = state.full.drain(..).collect();
        if everything || due_now(due) {
            // The delay counts from now, when the list being filled goes (or
            // would have: nothing waits).
            due = next_due();
            if !state.spans.is_empty() {
                let next = state.next_list(shared.batch_size);
                batches.push(std::mem::replace(&mut state.spans, next));
            }
        }
        if batches.is_empty() && !everything {
            // The delay passed with nothing queued.
            continue;
        }
        let flushes = state.flushes_asked;
        let stopping = state.stopping;
        drop(state);
        // A list kept for reuse has the room a new list gets (an exporter that
        // failed may hand back a list with none).
        let room = shared.batch_size.min(LIST_ROOM)..=LIST_ROOM;
        for mut batch in batches {
            // Counted out of the queue as it is sent, not before: what is in
            // memory is at most the queue and the batch being sent, a flush's
            // batches included.
            shared.counters.taken(batch.len());
            export(shared, &mut *destination, &mut batch);
            // Back at once for the callers' next lists, rather than after the
            // last batch: lists go round instead of being freed and made anew
            // (which, under overload, left glibc's arenas twice the size).
            let mut state = shared.lock();
            if state.spare.len() < SPARE_LISTS && room.contains(&batch.capacity()) {
                state.spare.push(batch);
            }
        }
        if stopping {
            // Outside the lock: an exporter's shutdown may block (a console on
            // a full stderr), and whoever waits for it gives up on time.
            let _ = catch_unwind(AssertUnwindSafe(|| destination.shutdown()));
        }
        let mut state = shared.lock();
        state.flushes_done = flushes;
        state.stopped = stopping;
        drop(state);
        shared.progress.notify_all();
        if stopping {
            return;
        }
    }
}

/// Exports a batch and counts it; leaves `batch` empty, its room kept.
fn export(shared: &Shared, destination: &mut dyn Destination, batch: &mut Vec<Finished>) {
    let count = batch.len();
    // A panicking exporter loses its batch, not the export thread.
    let outcome = catch_unwind(AssertUnwindSafe(|| destination.export(batch)))
        .unwrap_or_else(|_| Err("the exporter panicked".into()));
    batch.clear();
    match outcome {
        Ok(()) => shared.counters.exported(count),
        Err(error) => shared.counters.export_failed(count, &error),
    }
}

/// Queues a record on every queue: each exporter gets every span.
pub(crate) fn push_to_all(queues: &[Arc<Queue>], record: Box<Record>) {
    if let Some((last, others)) = queues.split_last() {
        for queue in others {
            queue.push(Finished::Record((*record).clone()));
        }
        last.push_record(record);
    }
}
