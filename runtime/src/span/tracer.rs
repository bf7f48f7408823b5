//! Which tracer records a span: the capture in the current context if there is
//! one (tests), otherwise the tracer installed by [`crate::init`].

use crate::span::sampling::SamplerKind;
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::sync::RwLock;

/// The tracer of the installed [`crate::Telemetry`], if any.
static INSTALLED: RwLock<Option<Installed>> = RwLock::new(None);

/// The installed telemetry's tracer, its provider (to flush) and its sampler.
#[derive(Debug)]
pub(crate) struct Installed {
    pub(crate) tracer: SdkTracer,
    pub(crate) provider: SdkTracerProvider,
    pub(crate) sampler: SamplerKind,
}

/// Marks a context as belonging to a [`crate::testing::capture`]: spans started
/// under it go to the capture's own provider, whatever else is installed.
#[derive(Debug)]
pub(crate) struct CaptureTracer(pub(crate) SdkTracer, pub(crate) SamplerKind);

/// Runs `f` with the tracer responsible for spans started under `cx`, or returns
/// `None` when nothing would record them.
#[inline]
pub(crate) fn with_tracer<R>(
    cx: &Context,
    f: impl FnOnce(&SdkTracer, SamplerKind) -> R,
) -> Option<R> {
    if let Some(capture) = cx.get::<CaptureTracer>() {
        return Some(f(&capture.0, capture.1));
    }
    let installed = INSTALLED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    installed.as_ref().map(|i| f(&i.tracer, i.sampler))
}

/// Installs `tracer` unless one is installed already; false if one was.
pub(crate) fn install_if_empty(value: Installed) -> bool {
    let mut installed = INSTALLED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if installed.is_some() {
        return false;
    }
    *installed = Some(value);
    true
}

pub(crate) fn install(value: Option<Installed>) {
    *INSTALLED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = value;
}

/// Force-flushes the installed provider, if any (bounded by the processor's own
/// flush timeout).
pub(crate) fn flush_installed() {
    let provider = INSTALLED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .as_ref()
        .map(|i| i.provider.clone());
    if let Some(provider) = provider {
        let _ = provider.force_flush();
    }
}
