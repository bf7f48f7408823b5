//! Panic capture. A span that a panic unwinds through records the panic's message
//! and, when spanwright's panic hook saw that panic, its location.
//!
//! The message always comes from the panic's payload, caught and re-thrown
//! unchanged by the span's runner, so it cannot belong to another panic. The
//! location comes from the hook (a payload has none): the hook leaves it for the
//! first span the panic reaches, which claims it for the rest of that unwinding
//! (outer spans know it by the payload's address, as the payload is re-thrown
//! as is). What was left but never claimed (a panic caught inside the body, or
//! outside any span) is forgotten whenever a span becomes current on a thread
//! that is not unwinding, so it can never be taken for a later panic. When a
//! hook installed later replaces spanwright's without calling it, spans record
//! the message without a location: no location beats a wrong one.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// What a span records of a panic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PanicRecord {
    pub(crate) message: String,
    pub(crate) location: Option<PanicLocation>,
}

/// Where a panic happened, as the hook saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PanicLocation {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

thread_local! {
    /// The last panic the hook saw on this thread, not yet claimed by a span.
    static SEEN: RefCell<Option<PanicRecord>> = const { RefCell::new(None) };
    /// The panic being unwound through spans now (its payload's address, `0`
    /// when claimed by a drop guard, and its record), for the outer spans it
    /// reaches after the first.
    static UNWINDING: RefCell<Option<(usize, PanicRecord)>> = const { RefCell::new(None) };
    /// Whether either of the above holds something: the common check is one read.
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Forgets every record of a panic that is over: called as a span becomes
/// current. A thread that is not unwinding has no panic in flight, so whatever
/// is left belongs to a panic that was caught.
#[inline]
pub(crate) fn forget_finished() {
    if HELD.try_with(Cell::get).unwrap_or(false) && !std::thread::panicking() {
        let _ = SEEN.try_with(|slot| slot.borrow_mut().take());
        let _ = UNWINDING.try_with(|slot| slot.borrow_mut().take());
        let _ = HELD.try_with(|held| held.set(false));
    }
}

static HOOK: Once = Once::new();

/// Installs the hook once, chaining whatever hook was there before.
pub(crate) fn install_hook() {
    // `take_hook` panics on a panicking thread; the next recorder installs it instead.
    if std::thread::panicking() {
        return;
    }
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            remember(info);
            previous(info);
        }));
    });
}

fn remember(info: &PanicHookInfo<'_>) {
    let record = PanicRecord {
        message: message_of(info.payload()),
        location: info.location().map(|l| PanicLocation {
            file: l.file().to_owned(),
            line: l.line(),
            column: l.column(),
        }),
    };
    // The hook may run during thread teardown, when the thread-local is gone.
    let _ = SEEN.try_with(|slot| *slot.borrow_mut() = Some(record));
    let _ = HELD.try_with(|held| held.set(true));
}

/// The text of a panic payload: `panic!`'s message, or the type's stand-in.
pub(crate) fn message_of(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        String::from("Box<dyn Any>")
    }
}

/// Describes the panic whose payload a span's runner caught.
pub(crate) fn describe(payload: &(dyn Any + Send)) -> PanicRecord {
    let message = message_of(payload);
    let address = payload as *const (dyn Any + Send) as *const () as usize;
    let seen = SEEN
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten();
    let location = match seen {
        // The first span this panic reaches: claim what the hook saw.
        Some(seen) if seen.message == message => {
            let _ = UNWINDING.try_with(|slot| *slot.borrow_mut() = Some((address, seen.clone())));
            seen.location
        }
        // An outer span of the same unwinding (the payload is re-thrown as is).
        _ => UNWINDING
            .try_with(|slot| match &*slot.borrow() {
                Some((claimed, record)) if *claimed == address && record.message == message => {
                    record.location.clone()
                }
                _ => None,
            })
            .ok()
            .flatten(),
    };
    PanicRecord { message, location }
}

/// Describes the panic unwinding through a drop guard, which cannot see the
/// payload: the hook's record of it when there is one (claimed, as by
/// [`describe`]), else the panic already being unwound through spans, else a
/// message saying why there is none.
pub(crate) fn describe_unwinding() -> PanicRecord {
    if let Some(seen) = SEEN
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
    {
        let _ = UNWINDING.try_with(|slot| *slot.borrow_mut() = Some((0, seen.clone())));
        return seen;
    }
    UNWINDING
        .try_with(|slot| slot.borrow().as_ref().map(|(_, record)| record.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(|| PanicRecord {
            message: String::from(
                "panic (message not captured: a panic hook installed after spanwright's replaced it)",
            ),
            location: None,
        })
}
