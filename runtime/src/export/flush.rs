//! Bounded flushes for `#[traced_job(flush)]` (spans, then what else the
//! installation flushes: its metrics), without a thread per job.
//!
//! The SDK's force-flush blocks its caller for up to 5 s when the collector does
//! not answer, so it runs on a helper thread of the installation's own, started
//! at the first flush: a job asks for a flush and waits (a sync job on its own
//! thread, at most the flush timeout; an async job as a future). Requests that
//! arrive while a flush runs are merged into the next one, so a hung collector
//! never piles up threads or control messages (the SDK's control channel holds
//! 64: a pile-up would make flushes fail and could keep the shutdown message
//! out). An async job's deadline is kept by a second thread, started at the
//! first async flush, since the flushing one may be blocked in the SDK: at most
//! two helper threads per installation, whatever the number of jobs.

use crate::export::wait::wait_while_until;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// What else a flush exports after the spans (the installation's metrics).
pub(crate) type AlsoFlush = Arc<dyn Fn() + Send + Sync>;

/// The flush helper of one installation.
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    provider: SdkTracerProvider,
    timeout: Duration,
    also: Option<AlsoFlush>,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when a flush is asked for, done, or the helpers must stop.
    changed: Condvar,
    /// Signalled when an async wait starts or ends (for the deadline thread).
    deadlines: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Flushes asked for, and the last one of them that is done.
    requested: u64,
    completed: u64,
    flusher_started: bool,
    timer_started: bool,
    stopped: bool,
    /// Async waits: their deadline and waker, by id.
    waiting: Vec<(u64, Instant, Waker)>,
    next_wait: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn done(target: u64, state: &State) -> bool {
        state.completed >= target || state.stopped
    }

    /// The wakers of every async wait, taken out to be woken once the lock is
    /// released (a waker may poll at once, or drop a task that locks again).
    fn take_wakers(state: &mut State) -> Vec<Waker> {
        state.waiting.drain(..).map(|(_, _, waker)| waker).collect()
    }
}

impl Flusher {
    pub(crate) fn new(provider: SdkTracerProvider, timeout: Duration) -> Self {
        Flusher {
            shared: Arc::default(),
            provider,
            timeout,
            also: None,
        }
    }

    /// Each flush also runs `also`, on the helper thread, after the spans.
    #[cfg(feature = "metrics")]
    pub(crate) fn also_flushing(mut self, also: AlsoFlush) -> Self {
        self.also = Some(also);
        self
    }

    /// Asks for a flush of everything ended so far; the returned target is
    /// reached once a flush that started after this call is done.
    fn request(&self) -> u64 {
        let mut state = self.shared.lock();
        if state.stopped {
            return 0;
        }
        state.requested += 1;
        let target = state.requested;
        if !state.flusher_started && self.start_flusher() {
            state.flusher_started = true;
        }
        if !state.flusher_started {
            // No thread could be started: nothing to wait for.
            state.completed = target;
        }
        drop(state);
        self.shared.changed.notify_all();
        target
    }

    fn start_flusher(&self) -> bool {
        let shared = Arc::clone(&self.shared);
        let provider = self.provider.clone();
        let also = self.also.clone();
        std::thread::Builder::new()
            .name("spanwright-flush".into())
            .spawn(move || flush_loop(&shared, &provider, also.as_deref()))
            .is_ok()
    }

    /// Flushes, waiting at most the flush timeout on this thread.
    pub(crate) fn flush_blocking(&self) {
        let target = self.request();
        let deadline = Instant::now().checked_add(self.timeout);
        let state = self.shared.lock();
        drop(wait_while_until(
            &self.shared.changed,
            state,
            deadline,
            |state| !Shared::done(target, state),
        ));
    }

    /// Flushes, as a future that is ready once the flush is done or the flush
    /// timeout has passed, whichever comes first. It needs no timer from the
    /// executor: the installation's deadline thread ends the wait.
    pub(crate) fn flush_async(&self) -> FlushFuture {
        let target = self.request();
        let deadline = Instant::now().checked_add(self.timeout);
        let mut state = self.shared.lock();
        if deadline.is_some() && !state.timer_started {
            let shared = Arc::clone(&self.shared);
            state.timer_started = std::thread::Builder::new()
                .name("spanwright-flush-deadline".into())
                .spawn(move || deadline_loop(&shared))
                .is_ok();
            if !state.timer_started {
                // No deadline could be kept: do not wait.
                return FlushFuture(None);
            }
        }
        let id = state.next_wait;
        state.next_wait += 1;
        FlushFuture(Some(Wait {
            shared: Arc::clone(&self.shared),
            target,
            deadline,
            id,
        }))
    }

    /// Stops the helpers (the installation is going away) and releases every
    /// waiting job.
    pub(crate) fn stop(&self) {
        let mut state = self.shared.lock();
        state.stopped = true;
        let wakers = Shared::take_wakers(&mut state);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        self.shared.changed.notify_all();
        self.shared.deadlines.notify_all();
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The flushing thread: one force-flush at a time (and then `also`), for every
/// request made before it started.
fn flush_loop(
    shared: &Shared,
    provider: &SdkTracerProvider,
    also: Option<&(dyn Fn() + Send + Sync)>,
) {
    loop {
        let target = {
            let mut state = shared.lock();
            while state.completed >= state.requested && !state.stopped {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
            if state.stopped {
                return;
            }
            state.requested
        };
        let _ = provider.force_flush();
        if let Some(also) = also {
            also();
        }
        let mut state = shared.lock();
        state.completed = state.completed.max(target);
        let wakers = Shared::take_wakers(&mut state);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        shared.changed.notify_all();
        shared.deadlines.notify_all();
    }
}

/// The deadline thread: wakes each async wait whose timeout has passed.
fn deadline_loop(shared: &Shared) {
    let mut state = shared.lock();
    while !state.stopped {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut due = Vec::new();
        state.waiting.retain(|(_, deadline, waker)| {
            if *deadline <= now {
                due.push(waker.clone());
                false
            } else {
                next = Some(next.map_or(*deadline, |n| n.min(*deadline)));
                true
            }
        });
        if !due.is_empty() {
            drop(state);
            due.into_iter().for_each(Waker::wake);
            state = shared.lock();
            continue;
        }
        state = match next {
            None => shared
                .deadlines
                .wait(state)
                .unwrap_or_else(|p| p.into_inner()),
            Some(next) => {
                let left = next.saturating_duration_since(Instant::now());
                shared
                    .deadlines
                    .wait_timeout(state, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
    }
}

/// See [`Flusher::flush_async`].
pub struct FlushFuture(Option<Wait>);

struct Wait {
    shared: Arc<Shared>,
    target: u64,
    deadline: Option<Instant>,
    id: u64,
}

impl FlushFuture {
    /// A flush with nothing to wait for (telemetry is off).
    pub(crate) fn ready() -> Self {
        FlushFuture(None)
    }
}

impl std::fmt::Debug for FlushFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushFuture").finish_non_exhaustive()
    }
}

impl Future for FlushFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(wait) = &self.0 else {
            return Poll::Ready(());
        };
        let mut state = wait.shared.lock();
        let timed_out = wait.deadline.is_some_and(|d| Instant::now() >= d);
        state.waiting.retain(|(id, _, _)| *id != wait.id);
        if Shared::done(wait.target, &state) || timed_out {
            return Poll::Ready(());
        }
        if let Some(deadline) = wait.deadline {
            state.waiting.push((wait.id, deadline, cx.waker().clone()));
            drop(state);
            wait.shared.deadlines.notify_all();
        } else {
            // No deadline (an unbounded timeout): woken by the flush alone.
            state
                .waiting
                .push((wait.id, far_future(), cx.waker().clone()));
        }
        Poll::Pending
    }
}

impl Drop for FlushFuture {
    fn drop(&mut self) {
        if let Some(wait) = &self.0 {
            wait.shared
                .lock()
                .waiting
                .retain(|(id, _, _)| *id != wait.id);
        }
    }
}

/// A deadline that never comes (`Instant` has no maximum).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .unwrap_or(now)
}
