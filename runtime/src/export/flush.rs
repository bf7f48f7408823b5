//! Bounded flushes for `#[traced_job(flush)]`. The SDK's force-flush blocks its
//! caller for up to 5 s when the collector does not answer, so it runs on a
//! thread of its own: a sync job waits for it at most the flush timeout, and an
//! async job awaits it without blocking its executor's thread.

use opentelemetry_sdk::trace::SdkTracerProvider;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    done: bool,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish(&self) {
        let waker = {
            let mut state = self.lock();
            state.done = true;
            state.waker.take()
        };
        self.changed.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Starts a force-flush of `provider` on a thread of its own.
fn start(provider: SdkTracerProvider) -> Arc<Shared> {
    let shared = Arc::new(Shared::default());
    let flushed = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name("spanwright-flush".into())
        .spawn(move || {
            let _ = provider.force_flush();
            flushed.finish();
        });
    if spawned.is_err() {
        shared.finish();
    }
    shared
}

/// Flushes, waiting at most `timeout` on this thread.
pub(crate) fn flush_blocking(provider: SdkTracerProvider, timeout: Duration) {
    let shared = start(provider);
    let deadline = Instant::now() + timeout;
    let mut state = shared.lock();
    while !state.done {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        state = shared
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// Flushes, as a future that is ready once the flush is done or `timeout` has
/// passed, whichever comes first. It needs no timer from the executor: a
/// watchdog thread ends the wait at the deadline.
pub(crate) fn flush_async(provider: SdkTracerProvider, timeout: Duration) -> FlushFuture {
    let shared = start(provider);
    let watched = Arc::clone(&shared);
    let watchdog = std::thread::Builder::new()
        .name("spanwright-flush-deadline".into())
        .spawn(move || {
            let state = watched.lock();
            let (state, _) = watched
                .changed
                .wait_timeout_while(state, timeout, |s| !s.done)
                .unwrap_or_else(|p| p.into_inner());
            if !state.done {
                drop(state);
                watched.finish();
            }
        });
    if watchdog.is_err() {
        shared.finish();
    }
    FlushFuture(Some(shared))
}

/// See [`flush_async`].
pub struct FlushFuture(Option<Arc<Shared>>);

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
        let Some(shared) = &self.0 else {
            return Poll::Ready(());
        };
        let mut state = shared.lock();
        if state.done {
            return Poll::Ready(());
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
