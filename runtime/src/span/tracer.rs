//! Which tracer records a span: the capture in the current context if there is
//! one (tests), otherwise the tracer installed by [`crate::init`].
//!
//! No lock is held while a span starts: user code runs then (attribute
//! expressions, name templates), and it may start spans of its own while another
//! thread installs or drops telemetry. Each thread keeps its own handle on the
//! installed tracer and refreshes it, under a short lock, only when the
//! installation has changed since (a generation counter says so).

use crate::span::sampling::SamplerKind;
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The installed telemetry's tracer, its provider (to flush) and its sampler.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) tracer: SdkTracer,
    pub(crate) provider: SdkTracerProvider,
    pub(crate) sampler: SamplerKind,
    /// How long `#[traced_job(flush)]` waits.
    pub(crate) flush_timeout: Duration,
}

static INSTALLED: Mutex<Option<Installed>> = Mutex::new(None);
/// Changes (under the lock) whenever `INSTALLED` does.
static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's handle on `INSTALLED`, as of a generation.
    static LOCAL: RefCell<(u64, Option<Rc<Installed>>)> = const { RefCell::new((0, None)) };
}

fn lock() -> MutexGuard<'static, Option<Installed>> {
    INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks a context as belonging to a [`crate::testing::capture`]: spans started
/// under it go to the capture's own provider, whatever else is installed.
#[derive(Debug)]
pub(crate) struct CaptureTracer(pub(crate) SdkTracer, pub(crate) SamplerKind);

/// The tracer responsible for spans started under a context.
pub(crate) enum TracerFor<'a> {
    Capture(&'a CaptureTracer),
    Installed(Rc<Installed>),
}

impl TracerFor<'_> {
    #[inline]
    pub(crate) fn tracer(&self) -> (&SdkTracer, SamplerKind) {
        match self {
            TracerFor::Capture(capture) => (&capture.0, capture.1),
            TracerFor::Installed(installed) => (&installed.tracer, installed.sampler),
        }
    }
}

/// The tracer for spans started under `cx`, or `None` when nothing would record
/// them. The caller holds no lock while it uses the tracer.
#[inline]
pub(crate) fn tracer_for(cx: &Context) -> Option<TracerFor<'_>> {
    if let Some(capture) = cx.get::<CaptureTracer>() {
        return Some(TracerFor::Capture(capture));
    }
    installed().map(TracerFor::Installed)
}

/// Whether anything would record a span started under `cx`.
pub(crate) fn records(cx: &Context) -> bool {
    cx.get::<CaptureTracer>().is_some() || installed().is_some()
}

fn installed() -> Option<Rc<Installed>> {
    let generation = GENERATION.load(Ordering::Acquire);
    let looked_up = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        if local.0 == generation {
            return (local.1.clone(), None);
        }
        let (generation, fresh) = snapshot();
        let stale = std::mem::replace(&mut *local, (generation, fresh));
        (local.1.clone(), stale.1)
    });
    match looked_up {
        // The stale handle is dropped here, outside the borrow: dropping the last
        // handle on a provider runs its shutdown.
        Ok((handle, _stale)) => handle,
        // This thread's locals are being torn down: look up without caching.
        Err(_) => snapshot().1,
    }
}

fn snapshot() -> (u64, Option<Rc<Installed>>) {
    let installed = lock();
    let generation = GENERATION.load(Ordering::Acquire);
    let handle = installed.clone().map(Rc::new);
    (generation, handle)
}

/// Installs `value` (or nothing), replacing whatever was installed.
pub(crate) fn install(value: Option<Installed>) {
    let mut installed = lock();
    *installed = value;
    GENERATION.fetch_add(1, Ordering::Release);
}

/// The installed provider and how long a job's flush may wait for it.
pub(crate) fn installed_provider() -> Option<(SdkTracerProvider, Duration)> {
    lock()
        .as_ref()
        .map(|i| (i.provider.clone(), i.flush_timeout))
}
