//! The functions the benchmarks compare: one function of an integer and a string
//! argument that records both, written each way a user might write it.
#![allow(missing_docs)]

use spanwright::opentelemetry::trace::SpanBuilder;
use spanwright::opentelemetry::trace::{
    FutureExt as _, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _,
};
use spanwright::opentelemetry::{Context, Key, KeyValue, global};
use spanwright::opentelemetry_sdk::error::OTelSdkResult;
use spanwright::opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, Span as SdkSpan,
    SpanData, SpanExporter,
};
use std::borrow::Cow;
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};

/// Spans the [`Discard`] exporters have been handed, in every provider: a timed
/// loop's spans are checked against it (none may have been dropped).
pub static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// An exporter that discards (what is measured is the instrumentation, not I/O),
/// counting what it is handed.
#[derive(Debug)]
pub struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        EXPORTED.fetch_add(batch.len() as u64, Ordering::Relaxed);
        black_box(batch);
        Ok(())
    }
}

/// The batch queue and batch size of every enabled case, on every side:
/// spanwright's defaults (the SDK's own are 2,048 and 512).
pub const QUEUE_SIZE: usize = 16_384;
pub const BATCH_SIZE: usize = 512;

/// A size from the variable spanwright reads too, else spanwright's default.
pub fn size_from_env(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An SDK provider as the enabled cases use it: batch processor with the same
/// queue and batch sizes as spanwright's (`OTEL_BSP_MAX_QUEUE_SIZE` and
/// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` when set, as spanwright reads them),
/// discarding exporter.
pub fn provider(sampler: Sampler) -> SdkTracerProvider {
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(size_from_env("OTEL_BSP_MAX_QUEUE_SIZE", QUEUE_SIZE))
        .with_max_export_batch_size(size_from_env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", BATCH_SIZE))
        .build();
    SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(
            BatchSpanProcessor::builder(Discard)
                .with_batch_config(config)
                .build(),
        )
        .build()
}

pub mod floor;

#[inline(never)]
fn body(a: u64, b: &str) -> usize {
    black_box(a as usize + b.len())
}

// ---- sync -----------------------------------------------------------------

#[inline(never)]
pub fn plain(a: u64, b: &str) -> usize {
    body(a, b)
}

#[inline(never)]
#[spanwright::span(attrs(a, b))]
pub fn spanwright_span(a: u64, b: &str) -> usize {
    body(a, b)
}

/// The same, its calls counted and timed (`function.calls`,
/// `function.calls.duration`).
#[inline(never)]
#[spanwright::span(metrics, attrs(a, b))]
pub fn spanwright_metrics(a: u64, b: &str) -> usize {
    body(a, b)
}

/// The same two instruments through the SDK's own meter, with the same
/// attributes and bucket boundaries, around the plain function: what recording
/// the metrics costs the SDK way.
pub struct SdkMetrics {
    calls: opentelemetry::metrics::Counter<u64>,
    duration: opentelemetry::metrics::Histogram<f64>,
    _provider: opentelemetry_sdk::metrics::SdkMeterProvider,
}

impl Default for SdkMetrics {
    fn default() -> Self {
        use opentelemetry::metrics::MeterProvider as _;
        // The SDK's production set-up: a periodic reader (every 60 s by default)
        // pushing to an exporter, here one that discards.
        let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(DiscardMetrics).build();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(reader)
            .build();
        let meter = provider.meter("bench");
        SdkMetrics {
            calls: meter.u64_counter("function.calls").build(),
            duration: meter
                .f64_histogram("function.calls.duration")
                .with_unit("s")
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                ])
                .build(),
            _provider: provider,
        }
    }
}

/// A metrics exporter that discards.
#[derive(Debug)]
struct DiscardMetrics;

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for DiscardMetrics {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}

impl SdkMetrics {
    #[inline(never)]
    pub fn call(&self, a: u64, b: &str) -> usize {
        let start = std::time::Instant::now();
        let value = body(a, b);
        let seconds = start.elapsed().as_secs_f64();
        let function = KeyValue::new("function", "sdk_metrics");
        let module = KeyValue::new("module", module_path!());
        self.calls.add(
            1,
            &[
                function.clone(),
                module.clone(),
                KeyValue::new("result", "ok"),
            ],
        );
        self.duration.record(seconds, &[function, module]);
        value
    }
}

/// What most hand-written OpenTelemetry code looks like.
#[inline(never)]
pub fn otel_idiomatic(a: u64, b: &str) -> usize {
    global::tracer("bench").in_span("otel_idiomatic", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("a", a as i64));
        span.set_attribute(KeyValue::new("b", b.to_owned()));
        body(a, b)
    })
}

const A: Key = Key::from_static_str("a");
const B: Key = Key::from_static_str("b");
const FUNCTION: Key = Key::from_static_str("code.function.name");
const FILE: Key = Key::from_static_str("code.file.path");
const LINE: Key = Key::from_static_str("code.line.number");

/// The fastest hand-written SDK code doing the same work as `#[span]`: a cached
/// concrete tracer, static keys, attributes (the user's two and the source
/// location) given at build time, the span made current around the body.
pub struct Tuned {
    pub tracer: SdkTracer,
}

impl Tuned {
    pub fn new(provider: &SdkTracerProvider) -> Self {
        Tuned {
            tracer: provider.tracer("bench"),
        }
    }

    /// The span with all five attributes given at build time.
    #[inline(always)]
    fn start(&self, name: &'static str, a: u64, b: &str) -> SdkSpan {
        self.tracer
            .span_builder(Cow::Borrowed(name))
            .with_kind(SpanKind::Internal)
            .with_attributes(vec![
                KeyValue::new(FUNCTION, name),
                KeyValue::new(FILE, "benches/lib.rs"),
                KeyValue::new(LINE, 90_i64),
                KeyValue::new(A, a as i64),
                KeyValue::new(B, b.to_owned()),
            ])
            .start(&self.tracer)
    }

    #[inline(never)]
    pub fn call(&self, a: u64, b: &str) -> usize {
        let cx = Context::current_with_span(self.start("otel_tuned", a, b));
        let guard = cx.clone().attach();
        let value = body(a, b);
        drop(guard);
        cx.span().end();
        value
    }

    pub async fn call_async(&self, a: u64, b: &str) -> usize {
        let cx = Context::current_with_span(self.start("otel_tuned_async", a, b));
        let value = async {
            yield_once().await;
            body(a, b)
        }
        .with_context(cx.clone())
        .await;
        cx.span().end();
        value
    }
}

/// The leanest correct hand-written SDK code: a `SpanBuilder` literal with the
/// same five attributes, built under the current context, made current around
/// the body and ended; no outcome classification, no panic guard.
#[inline(never)]
pub fn lean_call(tracer: &SdkTracer, a: u64, b: &str) -> usize {
    let parent = Context::current();
    let span = tracer.build_with_context(
        SpanBuilder {
            name: Cow::Borrowed("otel_lean"),
            span_kind: Some(SpanKind::Internal),
            attributes: Some(vec![
                KeyValue::new(FUNCTION, "otel_lean"),
                KeyValue::new(FILE, "benches/lib.rs"),
                KeyValue::new(LINE, 120_i64),
                KeyValue::new(A, a as i64),
                KeyValue::new(B, b.to_owned()),
            ]),
            ..SpanBuilder::from_name("")
        },
        &parent,
    );
    let guard = parent.with_span(span).attach();
    let value = body(a, b);
    Context::map_current(|cx| cx.span().end());
    drop(guard);
    value
}

// ---- sync shapes, for the disabled path's instruction counts ---------------

/// The error of the `Result` shape.
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

#[inline(never)]
pub fn plain_unit(a: u64, b: &str) {
    body(a, b);
}

#[inline(never)]
#[spanwright::span(attrs(a, b))]
pub fn span_unit(a: u64, b: &str) {
    body(a, b);
}

#[inline(never)]
pub fn plain_result(a: u64, b: &str) -> Result<usize, Refused> {
    let n = body(a, b);
    if n == usize::MAX { Err(Refused) } else { Ok(n) }
}

#[inline(never)]
#[spanwright::span(attrs(a, b))]
pub fn span_result(a: u64, b: &str) -> Result<usize, Refused> {
    let n = body(a, b);
    if n == usize::MAX { Err(Refused) } else { Ok(n) }
}

#[inline(never)]
pub fn plain_named(a: u64, b: &str) -> usize {
    body(a, b)
}

#[inline(never)]
#[spanwright::span(name = "resize {a}", attrs(b))]
pub fn span_named(a: u64, b: &str) -> usize {
    body(a, b)
}

/// A service whose method is the `&self` shape.
pub struct Service {
    pub base: u64,
}

impl Service {
    #[inline(never)]
    pub fn plain_method(&self, a: u64, b: &str) -> usize {
        body(a + self.base, b)
    }

    #[inline(never)]
    #[spanwright::span(attrs(a, b))]
    pub fn span_method(&self, a: u64, b: &str) -> usize {
        body(a + self.base, b)
    }
}

// ---- async, completing in one poll (the dyn harness) ------------------------

pub async fn plain_ready(a: u64, b: &str) -> u64 {
    body(a, b) as u64
}

#[spanwright::span(attrs(a, b))]
pub async fn span_ready(a: u64, b: &str) -> u64 {
    body(a, b) as u64
}

#[tracing::instrument]
pub async fn tracing_ready(a: u64, b: &str) -> u64 {
    body(a, b) as u64
}

/// Pins `future` in place and polls it once through `Pin<&mut dyn Future>` with a
/// no-op waker: the future's own poll function is what runs, not inlined here.
#[inline(never)]
pub fn poll_dyn<F: Future<Output = u64>>(future: F) -> u64 {
    let mut future = pin!(future);
    let future: Pin<&mut dyn Future<Output = u64>> = future.as_mut();
    let mut cx = TaskContext::from_waker(Waker::noop());
    match black_box(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("completes in one poll"),
    }
}

#[inline(never)]
#[tracing::instrument]
pub fn tracing_instrument(a: u64, b: &str) -> usize {
    body(a, b)
}

#[inline(never)]
#[fastrace::trace(properties = { "a": "{a}", "b": "{b}" })]
pub fn fastrace_trace(a: u64, b: &str) -> usize {
    body(a, b)
}

// ---- nested, depth 5 ------------------------------------------------------

#[inline(never)]
pub fn plain_nested(a: u64, b: &str) -> usize {
    (0..5).fold(0, |acc, i| acc + body(a + i, b))
}

/// Records `depth` and `a`, as `tracing_level` does.
#[spanwright::span(attrs(depth, a))]
fn span_level(depth: u32, a: u64, b: &str) -> usize {
    if depth == 0 {
        body(a, b)
    } else {
        span_level(depth - 1, a, b)
    }
}

#[inline(never)]
pub fn spanwright_nested(a: u64, b: &str) -> usize {
    span_level(4, a, b)
}

#[tracing::instrument(skip(b))]
fn tracing_level(depth: u32, a: u64, b: &str) -> usize {
    if depth == 0 {
        body(a, b)
    } else {
        tracing_level(depth - 1, a, b)
    }
}

#[inline(never)]
pub fn tracing_nested(a: u64, b: &str) -> usize {
    tracing_level(4, a, b)
}

// ---- async ----------------------------------------------------------------

/// Pending once: makes every future a real state machine with a suspension.
pub fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

pub async fn plain_async(a: u64, b: &str) -> usize {
    yield_once().await;
    body(a, b)
}

#[spanwright::span(attrs(a, b))]
pub async fn spanwright_async(a: u64, b: &str) -> usize {
    yield_once().await;
    body(a, b)
}

#[tracing::instrument]
pub async fn tracing_async(a: u64, b: &str) -> usize {
    yield_once().await;
    body(a, b)
}

#[fastrace::trace(properties = { "a": "{a}", "b": "{b}" })]
pub async fn fastrace_async(a: u64, b: &str) -> usize {
    yield_once().await;
    body(a, b)
}

/// Polls `future` to completion on this thread with a no-op waker.
#[inline]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// The sizes of each variant's future, in bytes.
pub fn future_sizes() -> Vec<(&'static str, usize)> {
    let provider = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&provider);
    vec![
        ("plain", size_of_val(&plain_async(1, "x"))),
        ("#[span]", size_of_val(&spanwright_async(1, "x"))),
        ("plain, one poll", size_of_val(&plain_ready(1, "x"))),
        ("#[span], one poll", size_of_val(&span_ready(1, "x"))),
        (
            "#[tracing::instrument], one poll",
            size_of_val(&tracing_ready(1, "x")),
        ),
        ("tuned OTel SDK", size_of_val(&tuned.call_async(1, "x"))),
        (
            "#[tracing::instrument]",
            size_of_val(&tracing_async(1, "x")),
        ),
        ("fastrace #[trace]", size_of_val(&fastrace_async(1, "x"))),
    ]
}
