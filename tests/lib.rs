//! Shared helpers for the integration tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A future that is pending once, then ready: a suspension point.
pub fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// A waker that does nothing, for hand-written poll loops.
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(NoopWake))
}

/// Polls `future` once.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    future.poll(&mut Context::from_waker(&waker))
}

/// Drives `future` to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(value) = poll_once(future.as_mut()) {
            return value;
        }
    }
}

/// A W3C traceparent with the given ids, sampled.
pub fn traceparent(trace_id: &str, span_id: &str) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(
        "traceparent".to_string(),
        format!("00-{trace_id}-{span_id}-01"),
    )])
}
