//! The future of an annotated async function: its span is current during each
//! poll and only then; ended on completion, panic or drop.
//!
//! An `async fn` is expanded to a plain `fn` returning `Instrumented::lazy` over
//! one `async move` block: the parameters are stored once, in that block, and
//! the span starts inside it at the first poll, where the attribute expressions
//! can borrow them. The block then hands its recording to the wrapper (see
//! [`handover`]), which makes it current from there on. Disabled, the block
//! starts nothing and hands nothing over: the wrapper's polls are plain polls.

use crate::span::recording::{Outcome, Recording};
use pin_project_lite::pin_project;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// Wraps the body future of an annotated async function.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        body: F,
        // Boxed: one pointer, null when disabled, keeps the future small and its
        // disabled polls and drop short; the enabled path pays one allocation.
        // Dropped unfinished (a cancelled future), the recording ends as cancelled.
        recording: Option<Box<Recording>>,
        // Until the body's first poll has returned: the body may hand a recording over.
        first_poll: bool,
        classify: C,
    }
}

impl<F, C> Instrumented<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    /// `recording` is `None` on the disabled path: then polling is a plain poll.
    #[inline(always)]
    pub fn new(recording: Option<Box<Recording>>, body: F, classify: C) -> Self {
        Instrumented {
            body,
            recording,
            first_poll: false,
            classify,
        }
    }

    /// A body that starts its own span at its first poll and hands it over.
    #[inline(always)]
    pub fn lazy(body: F, classify: C) -> Self {
        Instrumented {
            body,
            recording: None,
            first_poll: true,
            classify,
        }
    }
}

impl<F, C> Future for Instrumented<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        if this.recording.is_none() {
            let poll = this.body.as_mut().poll(task);
            if !*this.first_poll {
                return poll;
            }
            *this.first_poll = false;
            let handed_over = HANDED_OVER.try_with(Cell::take).ok().flatten();
            match (poll, handed_over) {
                (Poll::Pending, Some(recording)) => *this.recording = Some(recording),
                (poll, _) => return poll,
            }
        }
        poll_recorded(this.body, this.recording, this.classify, task)
    }
}

/// A poll with the span current. Out of line: the disabled poll stays a plain
/// poll of the body, without this path's unwinding and registers.
#[inline(never)]
fn poll_recorded<F, C>(
    body: Pin<&mut F>,
    recording: &mut Option<Box<Recording>>,
    classify: &C,
    task: &mut Context<'_>,
) -> Poll<F::Output>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    let current = recording.as_deref().and_then(Recording::attach);
    // The payload is caught to read the panic's own message, then re-thrown as is.
    let poll = catch_unwind(AssertUnwindSafe(|| body.poll(task)));
    drop(current);
    match poll {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(value)) => {
            if let Some(recording) = recording.take() {
                (*recording).finish(&value, classify);
            }
            Poll::Ready(value)
        }
        Err(payload) => {
            if let Some(recording) = recording.take() {
                (*recording).end_panicked(&*payload);
            }
            resume_unwind(payload)
        }
    }
}

thread_local! {
    /// The recording a lazy body has just started, on its way to the wrapper
    /// polling it. Set and taken within one poll of that wrapper, on this thread.
    static HANDED_OVER: Cell<Option<Box<Recording>>> = const { Cell::new(None) };
}

/// Awaited by a lazy body right after it started its span: parks the recording
/// for the wrapper and suspends once, so that the wrapper takes it and polls
/// the body again, now with the span current. Never suspends to the executor.
#[inline]
pub fn handover(recording: Box<Recording>) -> Handover {
    Handover(Some(recording))
}

/// See [`handover`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Handover(Option<Box<Recording>>);

impl Future for Handover {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _task: &mut Context<'_>) -> Poll<()> {
        match self.0.take() {
            Some(recording) => match HANDED_OVER.try_with(|slot| slot.set(Some(recording))) {
                Ok(()) => Poll::Pending,
                // This thread's locals are being torn down: the recording is dropped
                // (its span ends as cancelled) and the body runs on, unrecorded,
                // rather than wait for a wake-up that would never come.
                Err(_) => Poll::Ready(()),
            },
            None => Poll::Ready(()),
        }
    }
}
