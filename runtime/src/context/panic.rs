//! Panic capture: a chained panic hook remembers the last panic's message and
//! location per thread, so a span ended during unwinding can record them.

use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// What the hook saw of the panic that is unwinding on this thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct PanicRecord {
    pub(crate) message: String,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<PanicRecord>> = const { RefCell::new(None) };
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
    let payload = info.payload();
    let message = match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => (*text).to_owned(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::from("Box<dyn Any>"),
    };
    let location = info.location();
    let record = PanicRecord {
        message,
        file: location.map(|l| l.file().to_owned()),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
    };
    // The hook may run during thread teardown, when the thread-local is gone.
    let _ = LAST_PANIC.try_with(|slot| *slot.borrow_mut() = Some(record));
}

/// The panic unwinding on this thread, as the hook saw it. Not taken: every span
/// the unwinding passes through records the same panic.
pub(crate) fn last_panic() -> PanicRecord {
    LAST_PANIC
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| PanicRecord {
            message: String::from("panic (message not captured: the panic hook was replaced)"),
            ..PanicRecord::default()
        })
}
