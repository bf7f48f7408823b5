//! The future of an annotated async function: its span is current during each
//! poll and only then; ended on completion, panic or drop.

use crate::span::recording::{Outcome, Recording};
use pin_project_lite::pin_project;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// Wraps the body future of an annotated async function.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        body: F,
        // Ended by the inlined drop below: the compiler's own drop glue for an
        // `Option<Recording>` is an out-of-line call on every completed future.
        recording: ManuallyDrop<Option<Recording>>,
        classify: C,
    }

    impl<F, C> PinnedDrop for Instrumented<F, C> {
        #[inline]
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.recording.is_some() {
                // Dropped before completing: the recording ends as cancelled.
                drop(this.recording.take());
            }
        }
    }
}

impl<F, C> Instrumented<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    /// `recording` is `None` on the disabled path: then polling is a plain poll.
    #[inline(always)]
    pub fn new(recording: Option<Recording>, body: F, classify: C) -> Self {
        Instrumented {
            body,
            recording: ManuallyDrop::new(recording),
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
        let this = self.project();
        let Some(recording) = this.recording.as_ref() else {
            return this.body.poll(task);
        };
        let current = recording.attach();
        // The payload is caught to read the panic's own message, then re-thrown as is.
        let poll = catch_unwind(AssertUnwindSafe(|| this.body.poll(task)));
        drop(current);
        match poll {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => {
                if let Some(recording) = this.recording.take() {
                    recording.finish(&value, this.classify);
                }
                Poll::Ready(value)
            }
            Err(payload) => {
                if let Some(recording) = this.recording.take() {
                    recording.end_panicked(&*payload);
                }
                resume_unwind(payload)
            }
        }
    }
}
