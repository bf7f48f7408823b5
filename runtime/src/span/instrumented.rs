//! The future of an annotated async function: its span takes its parent when
//! the function is called, starts at the first poll, is current during every
//! poll and while the body is dropped, and ends on completion, panic or drop.
//!
//! An `async fn` is expanded to a plain `fn` returning [`Instrumented::deferred`]
//! over one `async move` block. At the call, the wrapper keeps the current
//! context (only when tracing is on: one boxed context). At the first poll it
//! makes that context current while the block starts the span (the attribute
//! expressions borrow the parameters the block holds) and hands the recording
//! over (see [`start_deferred`]); from then on the wrapper makes the span
//! current. Disabled, the wrapper holds a null pointer and its polls are plain
//! polls, but for one relaxed load after a pending one (a future made while
//! tracing was off may still hand a span over late).

use crate::span::recording::{Outcome, Recording};
use opentelemetry::{Context, ContextGuard};
use pin_project_lite::pin_project;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as Task, Poll};

pin_project! {
    /// Wraps the body future of an annotated async function.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        // Dropped before `span` (fields drop in order): a cancelled future's
        // body is dropped with its span current, then the span ends.
        #[pin]
        body: F,
        // Boxed: one pointer, null when disabled, keeps the future small and its
        // disabled polls and drop short; the enabled path pays one allocation.
        span: SpanSlot,
        classify: C,
    }

    impl<F, C> PinnedDrop for Instrumented<F, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.span.0.is_some() {
                this.span.enter_for_drop();
            }
        }
    }
}

/// The wrapper's span, boxed. `ManuallyDrop` so that no drop glue follows the
/// check in `drop`: the disabled future's drop stays a null check.
struct SpanSlot(ManuallyDrop<Option<Box<SpanState>>>);

impl SpanSlot {
    fn new(state: Option<Box<SpanState>>) -> Self {
        SpanSlot(ManuallyDrop::new(state))
    }

    /// The future is being dropped, its body next: the span becomes current
    /// until this slot drops, right after the body.
    #[inline(never)]
    fn enter_for_drop(&mut self) {
        let Some(state) = self.0.as_deref_mut() else {
            return;
        };
        let recording = match std::mem::replace(state, SpanState::Called(Context::new())) {
            SpanState::Started(recording) => recording,
            other => {
                *state = other;
                return;
            }
        };
        // The thread's context may be gone (a future dropped by a thread-local's
        // destructor): then the body drops without the span current.
        let attached = std::panic::catch_unwind(AssertUnwindSafe(|| recording.attach()));
        if let Ok(Some(guard)) = attached {
            let pushed = DROPPING.try_with(|entered| entered.borrow_mut().push(guard));
            if pushed.is_ok() {
                *state = SpanState::Dropping(recording);
                return;
            }
        }
        *state = SpanState::Started(recording);
    }
}

impl Drop for SpanSlot {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_some() {
            drop_span(&mut self.0);
        }
    }
}

/// Ends the span of a future dropped unfinished (as cancelled, when its
/// recording drops), after its body's destructors ran with the span current.
#[inline(never)]
fn drop_span(span: &mut Option<Box<SpanState>>) {
    if let Some(SpanState::Dropping(_)) = span.as_deref() {
        // The guard `enter_for_drop` pushed: the body's drops pushed and popped
        // their own in between.
        let guard = DROPPING.try_with(|entered| entered.borrow_mut().pop());
        drop(guard);
    }
    span.take();
}

thread_local! {
    /// The spans made current by futures being dropped on this thread, innermost last.
    static DROPPING: RefCell<Vec<ContextGuard>> = const { RefCell::new(Vec::new()) };
}

/// The span of one call, in the wrapper's box.
#[derive(Debug)]
enum SpanState {
    /// The context current when the function was called, until the first poll.
    Called(Context),
    /// The span being recorded.
    Started(Recording),
    /// The span, current while the future's body is dropped; held, never read,
    /// until it drops and ends the span.
    Dropping(#[allow(dead_code)] Recording),
}

impl<F, C> Instrumented<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    /// A body whose span has already started (`None`: nothing to record).
    #[inline(always)]
    pub fn new(recording: Option<Recording>, body: F, classify: C) -> Self {
        Instrumented {
            body,
            span: SpanSlot::new(recording.map(started)),
            classify,
        }
    }

    /// A body that starts its own span at its first poll and hands it over
    /// (see [`start_deferred`]). Made where the function is called: when tracing
    /// is on, the current context is kept for the span's parent (one box).
    #[inline(always)]
    pub fn deferred(body: F, classify: C) -> Self {
        let mut this = Instrumented {
            body,
            span: SpanSlot::new(None),
            classify,
        };
        // After the fields are in place, so the disabled path keeps no registers.
        if crate::span::switch::enabled() {
            *this.span.0 = called();
        }
        this
    }
}

/// The context current at the call, when something would record under it.
/// `None` otherwise (tracing is on only for another thread's
/// `testing::capture`): then the future is as one made while tracing was off,
/// whose span takes its parent at its first poll.
///
/// `extern "C"`: a call that cannot unwind (a panic in here aborts), so the
/// caller builds the future in place, with no landing pad to drop it from.
#[inline(never)]
extern "C" fn called() -> Option<Box<SpanState>> {
    // Without this thread's context (its locals being torn down) there is no
    // parent to keep; a panic must not cross this `extern "C"` boundary.
    let cx = std::panic::catch_unwind(Context::current).ok()?;
    #[cfg(feature = "sdk")]
    if !crate::span::tracer::records(&cx) {
        return None;
    }
    Some(Box::new(SpanState::Called(cx)))
}

#[inline(never)]
fn started(recording: Recording) -> Box<SpanState> {
    Box::new(SpanState::Started(recording))
}

impl<F, C> Future for Instrumented<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut Task<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut body = this.body;
        if this.span.0.is_some() {
            return poll_with_span(body, &mut this.span.0, this.classify, task);
        }
        let poll = body.as_mut().poll(task);
        // A future made while tracing was off starts its span at its first poll
        // if tracing is on by then (`testing::capture_async` of a future made
        // outside it): its body has handed a recording over on this thread.
        if poll.is_pending() && LATE.load(Ordering::Relaxed) != 0 {
            return poll_late(body, &mut this.span.0, this.classify, task);
        }
        poll
    }
}

/// Out of line: the disabled poll stays a plain poll of the body, without this
/// path's unwinding and registers.
#[inline(never)]
fn poll_with_span<F, C>(
    mut body: Pin<&mut F>,
    span: &mut Option<Box<SpanState>>,
    classify: &C,
    task: &mut Task<'_>,
) -> Poll<F::Output>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    let Some(state) = span.as_deref_mut() else {
        return body.poll(task);
    };
    if let SpanState::Started(_) = state {
        return poll_recorded(body, span, classify, task);
    }
    // The first poll: the call's context is current while the body starts the
    // span. Tracing turned off since the call: a plain poll, the slot never
    // opened (the body starts no span then).
    if !crate::span::switch::enabled() {
        *span = None;
        return body.poll(task);
    }
    let SpanState::Called(called) = std::mem::replace(state, SpanState::Called(Context::new()))
    else {
        unreachable!("matched above")
    };
    let current = called.attach();
    let slot = Slot::open();
    let poll = body.as_mut().poll(task);
    let handed_over = slot.close();
    drop(current);
    match (poll, handed_over) {
        (Poll::Pending, Some(recording)) => {
            *state = SpanState::Started(recording);
            poll_recorded(body, span, classify, task)
        }
        // No span started (tracing was turned off since the call).
        (poll, _) => {
            *span = None;
            poll
        }
    }
}

/// A poll with the span current.
fn poll_recorded<F, C>(
    body: Pin<&mut F>,
    span: &mut Option<Box<SpanState>>,
    classify: &C,
    task: &mut Task<'_>,
) -> Poll<F::Output>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    let current = match span.as_deref() {
        Some(SpanState::Started(recording)) => recording.attach(),
        _ => None,
    };
    // The payload is caught to read the panic's own message, then re-thrown as is.
    let poll = catch_unwind(AssertUnwindSafe(|| body.poll(task)));
    drop(current);
    let ended = match poll {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(_)) | Err(_) => span.take(),
    };
    let recording = match ended.map(|state| *state) {
        Some(SpanState::Started(recording)) => Some(recording),
        _ => None,
    };
    match poll {
        Ok(Poll::Ready(value)) => {
            if let Some(recording) = recording {
                recording.finish(&value, classify);
            }
            Poll::Ready(value)
        }
        Err(payload) => {
            if let Some(recording) = recording {
                recording.end_panicked(&*payload);
            }
            resume_unwind(payload)
        }
        Ok(Poll::Pending) => unreachable!("returned above"),
    }
}

#[cold]
#[inline(never)]
fn poll_late<F, C>(
    body: Pin<&mut F>,
    span: &mut Option<Box<SpanState>>,
    classify: &C,
    task: &mut Task<'_>,
) -> Poll<F::Output>
where
    F: Future,
    C: Fn(&F::Output) -> Outcome,
{
    match Slot::take_late() {
        // The body is suspended at its hand-over: poll on, with the span current.
        Some(recording) => {
            *span = Some(started(recording));
            poll_recorded(body, span, classify, task)
        }
        None => Poll::Pending,
    }
}

/// Recordings handed over by bodies whose wrapper was not listening (it was made
/// while tracing was off), not yet taken: a disabled wrapper reads its
/// thread-local slot only while this is not zero.
static LATE: AtomicUsize = AtomicUsize::new(0);

enum SlotState {
    /// No wrapper is waiting for a recording on this thread.
    Closed,
    /// A wrapper is polling its body for the first time, with the call's context.
    Open,
    /// A body has started its span and suspended for its wrapper to take it.
    Full { recording: Recording, late: bool },
}

thread_local! {
    /// The hand-over between a body starting its span and the wrapper polling it,
    /// within one poll, on this thread.
    static SLOT: Cell<SlotState> = const { Cell::new(SlotState::Closed) };
}

/// A wrapper's first poll: the slot open for its body's recording.
struct Slot(());

impl Slot {
    fn open() -> Slot {
        let previous = SLOT.try_with(|slot| slot.replace(SlotState::Open));
        debug_assert!(
            !matches!(previous, Ok(SlotState::Full { .. })),
            "a recording was handed over and never taken"
        );
        Slot(())
    }

    fn close(self) -> Option<Recording> {
        let taken = SLOT.try_with(|slot| slot.replace(SlotState::Closed));
        std::mem::forget(self);
        match taken {
            Ok(SlotState::Full { recording, late }) => {
                if late {
                    LATE.fetch_sub(1, Ordering::Relaxed);
                }
                Some(recording)
            }
            _ => None,
        }
    }

    fn take_late() -> Option<Recording> {
        let taken = SLOT.try_with(|slot| match slot.replace(SlotState::Closed) {
            SlotState::Full {
                recording,
                late: true,
            } => Some(recording),
            other => {
                slot.set(other);
                None
            }
        });
        let recording = taken.ok().flatten()?;
        LATE.fetch_sub(1, Ordering::Relaxed);
        Some(recording)
    }
}

impl Drop for Slot {
    /// The body panicked during the first poll: nothing was handed over.
    fn drop(&mut self) {
        let _ = SLOT.try_with(|slot| slot.replace(SlotState::Closed));
    }
}

/// The start of a deferred body, at its first poll: `start` starts the span
/// (it runs the attribute expressions, which borrow the parameters the body
/// holds); the returned future, awaited at once, hands the recording over to the
/// wrapper. Disabled: one relaxed load, no thread-local access, no call.
#[inline(always)]
pub fn start_deferred(start: impl FnOnce() -> Option<Recording>) -> Option<Handover> {
    if crate::span::switch::enabled() {
        start_and_park(start)
    } else {
        None
    }
}

/// Out of line: the body's disabled poll keeps none of this path's registers.
#[inline(never)]
fn start_and_park(start: impl FnOnce() -> Option<Recording>) -> Option<Handover> {
    // Whether the wrapper polling the body is listening (it kept the call's
    // context); if not, it takes the recording on its way out of the poll.
    let listening = SLOT
        .try_with(|slot| match slot.replace(SlotState::Closed) {
            SlotState::Open => true,
            other => {
                slot.set(other);
                false
            }
        })
        .ok()?;
    park(start()?, !listening)
}

/// Parks `recording` for the wrapper on this thread.
fn park(recording: Recording, late: bool) -> Option<Handover> {
    let parked = SLOT.try_with(|slot| match slot.replace(SlotState::Closed) {
        SlotState::Closed => {
            slot.set(SlotState::Full { recording, late });
            true
        }
        other => {
            // Cannot happen with generated code: the recording is dropped (its
            // span ends as cancelled) and the body runs on unrecorded.
            debug_assert!(
                false,
                "spanwright: a span was handed over twice in one poll"
            );
            slot.set(other);
            false
        }
    });
    // Without this thread's locals (being torn down) the body runs on
    // unrecorded rather than wait for a wake-up that would never come.
    if !parked.unwrap_or(false) {
        return None;
    }
    if late {
        // Read by the wrapper on this thread as the body returns.
        LATE.fetch_add(1, Ordering::Relaxed);
    }
    Some(Handover { parked: true })
}

/// See [`start_deferred`]: one byte in the body's future.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Handover {
    parked: bool,
}

impl Future for Handover {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, _task: &mut Task<'_>) -> Poll<()> {
        if std::mem::take(&mut self.parked) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}
