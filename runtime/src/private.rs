//! What the macros' generated code calls. Not public API: it may change in any
//! release without notice; the macros and the runtime are released together.
#![allow(missing_docs)]

pub use crate::span::instrumented::{Instrumented, start_deferred};
/// Return-value classification (see the `probe` module of the runtime).
pub mod probe {
    pub use crate::span::probe::{
        FailureDebug, FailureDisplay, FailureNone, FailureOpaque, Probe, RetDebug, RetOkDebug,
        RetOkValue, RetValue,
    };
}

pub use crate::span::recording::{Outcome, Recording};
pub use crate::span::site::{FilterCache, Site, cargo_or};
pub use crate::span::start::{SpanAttrs, Start};
pub use crate::span::switch::enabled;
pub use crate::span::sync::{Branch, FromResidual, Scope, dispatch, run_sync};
pub use crate::span::value::{debug_value, display_value, to_value};
pub use opentelemetry::Key;
pub use opentelemetry::trace::SpanKind;
pub use std::format;

/// `#[traced_job(init)]`: installs telemetry; a failure is reported on stderr and
/// the job runs without it. (Without the `sdk` feature there is nothing to
/// install: rustc's error names the feature.)
#[cfg(feature = "sdk")]
pub fn init_for_main() -> Option<crate::Telemetry> {
    match crate::init() {
        Ok(telemetry) => Some(telemetry),
        Err(error) => {
            let stderr = crate::export::diagnostic::Sink::stderr();
            stderr.report(
                crate::DiagnosticKind::InitFailed,
                format!("spanwright: telemetry not started: {error}"),
            );
            // `main` may return at once: the line is out before it does.
            crate::export::diagnostic::drain_stderr(std::time::Duration::from_millis(200));
            None
        }
    }
}

/// `#[traced_job(flush)]` in a sync job: exports the finished spans now, waiting
/// at most the flush timeout. Disabled: no lock, no call.
#[cfg(feature = "sdk")]
#[inline]
pub fn flush() {
    if !crate::span::switch::enabled() {
        return;
    }
    if let Some(flusher) = crate::span::tracer::installed_flusher() {
        flusher.flush_blocking();
    }
}

/// `#[traced_job(flush)]` in an async job: the same, awaited without blocking
/// the executor's thread.
#[cfg(feature = "sdk")]
#[inline]
pub fn flush_async() -> crate::export::flush::FlushFuture {
    if !crate::span::switch::enabled() {
        return crate::export::flush::FlushFuture::ready();
    }
    match crate::span::tracer::installed_flusher() {
        Some(flusher) => flusher.flush_async(),
        None => crate::export::flush::FlushFuture::ready(),
    }
}

/// Without the `sdk` feature nothing is ever installed: nothing to flush.
#[cfg(not(feature = "sdk"))]
#[inline]
pub fn flush() {}

/// Without the `sdk` feature nothing is ever installed: nothing to flush.
#[cfg(not(feature = "sdk"))]
#[inline]
pub fn flush_async() -> std::future::Ready<()> {
    std::future::ready(())
}
