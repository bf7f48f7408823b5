//! The run-time switch: one relaxed atomic load decides whether an annotated
//! function does anything beyond its own body.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many things can record spans right now: an installed [`crate::Telemetry`]
/// counts one, and so does every [`crate::testing::capture`] in progress.
static RECORDERS: AtomicUsize = AtomicUsize::new(0);

/// Whether any span can be recorded in this process right now.
///
/// `false` until [`crate::init`] installs telemetry (or while no
/// [`crate::testing::capture`] runs); annotated functions then run their body and
/// nothing else. This is the check the generated code makes first: one relaxed
/// atomic load.
///
/// ```
/// // Nothing installed: annotated functions take the no-op path.
/// assert!(!spanwright::enabled());
/// ```
#[inline(always)]
pub fn enabled() -> bool {
    RECORDERS.load(Ordering::Relaxed) != 0
}

/// Keeps [`enabled`] true while it lives.
#[derive(Debug)]
pub(crate) struct Recorder(());

impl Recorder {
    pub(crate) fn register() -> Self {
        crate::span::panic_capture::install_hook();
        RECORDERS.fetch_add(1, Ordering::Relaxed);
        Recorder(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        RECORDERS.fetch_sub(1, Ordering::Relaxed);
    }
}
