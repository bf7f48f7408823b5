//! The export queue: ended spans wait here, bounded, for the one thread that
//! exports them in batches. Every span is counted in (`Counters::admit`, which
//! turns it away when the queue is full) and out (exported, or lost in a failed
//! export). The attribute value length limit is applied before a span is queued,
//! so full-size values never wait here.
//!
//! The spans travel through std's bounded channel (its slots allocated up
//! front, a pointer each): a send is lock-free while the export thread is busy,
//! and takes the channel's short internal lock only to wake it, so calling
//! threads do not queue behind each other for a lock of spanwright's. Flushes
//! and the shutdown are asked for beside it, and the export thread is woken
//! with a message that carries no span (`Wake`), at most one in flight; when
//! the channel is full that message may not fit, but then the export thread is
//! not waiting either. Dropping the queue without a shutdown (an installation
//! that failed half-way) stops the thread as a shutdown would.

use crate::export::stats::Counters;
use crate::pipeline::destination::Destination;
use crate::pipeline::finished::Finished;
use crate::pipeline::record::Record;
use crate::setup::batch_settings::BatchSettings;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Room in the channel beyond the queue size, for the one `Wake` in flight.
const WAKE_ROOM: usize = 1;

enum Message {
    Span(Finished),
    /// Look at the requests: a flush, the shutdown.
    Wake,
}

/// One exporter's queue and its export thread.
#[derive(Debug)]
pub(crate) struct Queue {
    spans: SyncSender<Message>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Span(_) => "Span",
            Message::Wake => "Wake",
        })
    }
}

#[derive(Debug)]
struct Shared {
    requests: Mutex<Requests>,
    /// A `Wake` is in the channel: another would only take a span's room.
    wake_pending: AtomicBool,
    /// Signalled when a flush is done or the thread has stopped.
    progress: Condvar,
    counters: Arc<Counters>,
    value_length: Option<usize>,
    batch_size: usize,
    delay: Duration,
    /// What the channel holds at most.
    capacity: usize,
}

#[derive(Debug, Default)]
struct Requests {
    flushes_asked: u64,
    flushes_done: u64,
    stopping: bool,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
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
        let (spans, receiver) = sync_channel(settings.queue_size + WAKE_ROOM);
        let shared = Arc::new(Shared {
            requests: Mutex::default(),
            wake_pending: AtomicBool::new(false),
            progress: Condvar::new(),
            counters,
            value_length,
            batch_size: settings.batch_size.max(1),
            delay: settings.delay,
            capacity: settings.queue_size + WAKE_ROOM,
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("spanwright-export".into())
            .spawn(move || export_loop(&worker, &receiver, destination))?;
        Ok(Arc::new(Queue { spans, shared }))
    }

    /// Queues an ended span, or counts it dropped when the queue is full.
    pub(crate) fn push(&self, mut span: Finished) {
        let shared = &*self.shared;
        if !shared.counters.admit() {
            return;
        }
        if let Some(limit) = shared.value_length {
            span.truncate(limit);
        }
        // Admitted: there is room (the channel holds the queue and a `Wake`).
        // A stopped export thread loses it, counted when the counts settle.
        if let Err(TrySendError::Full(_)) = self.spans.try_send(Message::Span(span)) {
            shared.counters.refused();
        }
    }

    fn wake(&self) {
        if !self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.spans.try_send(Message::Wake);
        }
    }

    /// Exports everything queued so far; `false` if that took longer than `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        let mut requests = shared.lock();
        if requests.stopped {
            return true;
        }
        requests.flushes_asked += 1;
        let target = requests.flushes_asked;
        self.wake();
        wait_until(shared, requests, timeout, |r| {
            r.flushes_done >= target || r.stopped
        })
    }

    /// Exports what is queued and stops the export thread, waiting at most
    /// `timeout`; `false` if it had not stopped by then.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let shared = &*self.shared;
        let mut requests = shared.lock();
        requests.stopping = true;
        self.wake();
        wait_until(shared, requests, timeout, |r| r.stopped)
    }
}

/// Queues a record on every queue: each exporter gets every span.
pub(crate) fn push_to_all(queues: &[Arc<Queue>], record: Box<Record>) {
    if let Some((last, others)) = queues.split_last() {
        for queue in others {
            queue.push(Finished::Record(record.clone()));
        }
        last.push(Finished::Record(record));
    }
}

fn wait_until(
    shared: &Shared,
    mut requests: MutexGuard<'_, Requests>,
    timeout: Duration,
    done: impl Fn(&Requests) -> bool,
) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    while !done(&requests) {
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            return false;
        }
        requests = shared
            .progress
            .wait_timeout(requests, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    true
}

/// The export thread: a batch when one is full, when the delay has passed since
/// the last, when a flush asks (everything queued), and at shutdown.
fn export_loop(shared: &Shared, spans: &Receiver<Message>, mut destination: Box<dyn Destination>) {
    // Nothing the export does is recorded: no span, no bridged event.
    let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
    let size = shared.batch_size;
    let mut batch: Vec<Finished> = Vec::new();
    let mut due = Instant::now() + shared.delay;
    loop {
        // Fill a batch until it is full, the delay is up or a request comes.
        let mut asked = false;
        let mut disconnected = false;
        while batch.len() < size {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match spans.recv_timeout(left) {
                Ok(Message::Span(span)) => {
                    batch.push(span);
                    if take_ready(shared, spans, &mut batch, size) {
                        asked = true;
                        break;
                    }
                }
                Ok(Message::Wake) => {
                    shared.wake_pending.store(false, Ordering::Release);
                    asked = true;
                    break;
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        let (flushes, stopping, flush_pending) = {
            let requests = shared.lock();
            let pending = requests.flushes_asked > requests.flushes_done;
            (
                requests.flushes_asked,
                requests.stopping || disconnected,
                pending,
            )
        };
        let everything = asked || stopping || flush_pending;
        send(shared, &mut *destination, &mut batch);
        if everything {
            // Everything queued before the request, batch after batch: at most
            // what the channel held, so that threads that keep pushing cannot
            // hold a flush or the shutdown up.
            let mut left = shared.capacity;
            while left > 0 {
                take_ready(shared, spans, &mut batch, size.min(left));
                if batch.is_empty() {
                    break;
                }
                left = left.saturating_sub(batch.len());
                send(shared, &mut *destination, &mut batch);
            }
        }
        if stopping {
            // Outside the lock: an exporter's shutdown may block (a console on
            // a full stderr), and whoever waits for it gives up on time.
            destination.shutdown();
        }
        let mut requests = shared.lock();
        requests.flushes_done = requests.flushes_done.max(flushes);
        requests.stopped = stopping;
        // A request that came while exporting (its `Wake` may have been taken
        // with the spans): served at once, not after the delay.
        let more = requests.flushes_asked > requests.flushes_done || requests.stopping;
        drop(requests);
        shared.progress.notify_all();
        if stopping {
            return;
        }
        due = if more {
            Instant::now()
        } else {
            Instant::now() + shared.delay
        };
    }
}

/// Moves the spans waiting in the channel into `batch`, up to `size`; whether
/// a `Wake` was among them.
fn take_ready(
    shared: &Shared,
    spans: &Receiver<Message>,
    batch: &mut Vec<Finished>,
    size: usize,
) -> bool {
    let mut woken = false;
    while batch.len() < size {
        match spans.try_recv() {
            Ok(Message::Span(span)) => batch.push(span),
            Ok(Message::Wake) => {
                shared.wake_pending.store(false, Ordering::Release);
                woken = true;
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    woken
}

/// Exports one batch, counting it; leaves `batch` empty (its room kept).
fn send(shared: &Shared, destination: &mut dyn Destination, batch: &mut Vec<Finished>) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    shared.counters.taken(count);
    let outcome = destination.export(batch);
    batch.clear();
    match outcome {
        Ok(()) => shared.counters.exported(count),
        Err(error) => shared.counters.export_failed(count, &error),
    }
}
