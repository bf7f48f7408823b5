//! Which tracer records a span: the capture in the current context if there is
//! one (tests), otherwise the tracer installed by [`crate::init`].
//!
//! No lock is held while a span starts: user code runs then (attribute
//! expressions, name templates), and it may start spans of its own while another
//! thread installs or drops telemetry. Each thread keeps its own handle on the
//! installed tracer and refreshes it, under a short lock, only when the
//! installation has changed since (a generation counter says so). The handle is
//! weak, so uninstalling releases the installation at once on every thread.

use crate::export::flush::Flusher;
use crate::pipeline::held::Holding;
use crate::pipeline::sink::Sink;
use crate::span::sampling::SamplerKind;
use crate::span::site::Site;
use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, ShouldSample, SpanLimits};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

/// What spanwright needs to record spans itself: where they go, the span
/// limits, and the sampler (asked only when its decision cannot be predicted).
#[derive(Debug)]
pub(crate) struct Own {
    pub(crate) sink: Sink,
    /// Sampling that keeps errors: where held traces go.
    pub(crate) holding: Option<Arc<Holding>>,
    pub(crate) limits: SpanLimits,
    pub(crate) sampler: Box<dyn ShouldSample>,
}

/// The installed telemetry's provider and tracer, its flush helper and its
/// sampler.
#[derive(Debug)]
pub(crate) struct Installed {
    /// spanwright's own recording; `None` when the application handed its
    /// provider over, whose span objects then record annotated functions too.
    pub(crate) own: Option<Own>,
    /// The tracer provider: the global one for hand-written code; for a
    /// provider handed over, it records annotated functions, a tracer per
    /// instrumentation scope.
    pub(crate) provider: SdkTracerProvider,
    /// The tracers made so far, one per package's scope.
    pub(crate) scoped: Arc<ScopedTracers>,
    /// Scope `spanwright`: the `tracing` bridge's spans through a provider
    /// handed over.
    #[cfg(feature = "tracing")]
    pub(crate) tracer: SdkTracer,
    pub(crate) flusher: Arc<Flusher>,
    pub(crate) sampler: SamplerKind,
    /// Where the metrics of jobs and `metrics` functions go.
    #[cfg(feature = "metrics")]
    pub(crate) meter: Option<Arc<crate::metrics::meter::Meter>>,
}

static INSTALLED: Mutex<Option<Arc<Installed>>> = Mutex::new(None);
/// Changes (under the lock) whenever `INSTALLED` does.
static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's handle on `INSTALLED`, as of a generation. Weak: a replaced
    /// installation (its provider, exporters and queue) is released as soon as
    /// it is uninstalled, not when each thread that ever used it starts another span.
    static LOCAL: RefCell<(u64, Weak<Installed>)> = const { RefCell::new((0, Weak::new())) };
}

fn lock() -> MutexGuard<'static, Option<Arc<Installed>>> {
    INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tracer of one package's instrumentation scope.
#[derive(Debug)]
struct ScopedTracer {
    name: &'static str,
    version: &'static str,
    tracer: SdkTracer,
}

impl ScopedTracer {
    #[inline]
    fn serves(&self, site: &Site) -> bool {
        // The same literal, mostly: its address says so before its text.
        (std::ptr::eq(self.name, site.scope) || self.name == site.scope)
            && self.version == site.scope_version
    }
}

/// The tracers of the scopes seen so far, one per package: made once (the SDK
/// allocates a tracer's scope), read without a lock. A program with more
/// packages than slots makes a tracer per span for the rest.
#[derive(Debug)]
pub(crate) struct ScopedTracers([OnceLock<ScopedTracer>; 64]);

impl Default for ScopedTracers {
    fn default() -> Self {
        ScopedTracers(std::array::from_fn(|_| OnceLock::new()))
    }
}

impl ScopedTracers {
    /// The tracer of `site`'s scope. No lock: slots fill in order and never
    /// empty; two threads racing for one slot both go on to the next (a scope
    /// may then hold two slots, which is harmless).
    fn get(&self, site: &Site, provider: &SdkTracerProvider) -> Option<&SdkTracer> {
        for slot in &self.0 {
            if let Some(held) = slot.get() {
                if held.serves(site) {
                    return Some(&held.tracer);
                }
                continue;
            }
            // Made before it is set: no lock of anyone's is held while the
            // SDK runs.
            let made = ScopedTracer {
                name: site.scope,
                version: site.scope_version,
                tracer: provider.tracer_with_scope(site.instrumentation_scope()),
            };
            let _ = slot.set(made);
            if let Some(held) = slot.get().filter(|held| held.serves(site)) {
                return Some(&held.tracer);
            }
        }
        None
    }
}

/// Marks a context as belonging to a [`crate::testing::capture`]: spans started
/// under it are recorded into the capture, whatever else is installed.
#[derive(Debug)]
pub(crate) struct CaptureTracer {
    pub(crate) own: Own,
    pub(crate) sampler: SamplerKind,
}

/// The tracer responsible for spans started under a context.
pub(crate) enum TracerFor<'a> {
    Capture(&'a CaptureTracer),
    Installed(Arc<Installed>),
}

/// How the spans under a context are recorded.
pub(crate) enum Recorder<'a> {
    /// By spanwright, and what is known of the sampler.
    Own(&'a Own, SamplerKind),
    /// Through the SDK's span objects: a provider handed over.
    Sdk(&'a Installed),
}

impl TracerFor<'_> {
    /// Whether spans' ends record metrics: an installation with a meter.
    #[inline]
    pub(crate) fn meters(&self) -> bool {
        match self {
            TracerFor::Capture(_) => false,
            #[cfg(feature = "metrics")]
            TracerFor::Installed(installed) => installed.meter.is_some(),
            #[cfg(not(feature = "metrics"))]
            TracerFor::Installed(_) => false,
        }
    }

    #[inline]
    pub(crate) fn recorder(&self) -> Recorder<'_> {
        match self {
            TracerFor::Capture(capture) => Recorder::Own(&capture.own, capture.sampler),
            TracerFor::Installed(installed) => match &installed.own {
                Some(own) => Recorder::Own(own, installed.sampler),
                None => Recorder::Sdk(installed),
            },
        }
    }
}

impl Installed {
    /// The tracer of `site`'s instrumentation scope (its package).
    #[inline]
    pub(crate) fn for_site(&self, site: &Site) -> Cow<'_, SdkTracer> {
        match self.scoped.get(site, &self.provider) {
            Some(tracer) => Cow::Borrowed(tracer),
            // More packages than slots.
            None => Cow::Owned(
                self.provider
                    .tracer_with_scope(site.instrumentation_scope()),
            ),
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

/// Whether anything would record a span started under `cx`: no handle taken,
/// so the call of an async function touches no shared reference count.
pub(crate) fn records(cx: &Context) -> bool {
    HAS_INSTALLED.load(Ordering::Relaxed) || cx.get::<CaptureTracer>().is_some()
}

/// Whether `INSTALLED` holds an installation (changes under its lock).
static HAS_INSTALLED: AtomicBool = AtomicBool::new(false);

fn installed() -> Option<Arc<Installed>> {
    let generation = GENERATION.load(Ordering::Acquire);
    let looked_up = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        if local.0 != generation {
            let (generation, fresh) = snapshot();
            *local = (
                generation,
                fresh.as_ref().map(Arc::downgrade).unwrap_or_default(),
            );
            return fresh;
        }
        local.1.upgrade()
    });
    // Without this thread's locals (being torn down): looked up without caching.
    looked_up.unwrap_or_else(|_| snapshot().1)
}

fn snapshot() -> (u64, Option<Arc<Installed>>) {
    let installed = lock();
    let generation = GENERATION.load(Ordering::Acquire);
    (generation, installed.clone())
}

/// Installs `value` (or nothing), replacing whatever was installed.
pub(crate) fn install(value: Option<Installed>) {
    let replaced = {
        let mut installed = lock();
        let replaced = std::mem::replace(&mut *installed, value.map(Arc::new));
        HAS_INSTALLED.store(installed.is_some(), Ordering::Relaxed);
        GENERATION.fetch_add(1, Ordering::Release);
        replaced
    };
    // Dropped outside the lock: the last handle on a provider runs its shutdown.
    drop(replaced);
}

/// The installed meter, if metrics are recorded.
#[cfg(feature = "metrics")]
pub(crate) fn installed_meter() -> Option<Arc<crate::metrics::meter::Meter>> {
    installed()?.meter.clone()
}

/// The meter for what runs under `cx`: the installation's, never for a
/// capture's spans nor for the exporter's own work.
#[cfg(all(feature = "metrics", feature = "http"))]
pub(crate) fn meter_for(cx: &Context) -> Option<Arc<crate::metrics::meter::Meter>> {
    if cx.is_telemetry_suppressed() || cx.get::<CaptureTracer>().is_some() {
        return None;
    }
    installed_meter()
}

/// The installed flush helper, for `#[traced_job(flush)]`.
pub(crate) fn installed_flusher() -> Option<Arc<Flusher>> {
    lock().as_ref().map(|i| Arc::clone(&i.flusher))
}
