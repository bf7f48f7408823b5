//! # spanwright
//!
//! OpenTelemetry tracing in one line: `#[spanwright::span]` on a function (sync or
//! async) creates a span for every call, makes it the current OpenTelemetry
//! context while the body runs, records the attributes you name, records an
//! `Err` or a panic as an exception with status Error, and ends the span.
//! `#[spanwright::traced_job]` does the same for job entrypoints, continuing the
//! producer's trace from a message's headers.
//!
//! ```
//! use spanwright::testing::{capture, SpanDataExt};
//! use spanwright::opentelemetry::{trace::Status, Value};
//!
//! #[derive(Debug)]
//! struct NotFound;
//! impl std::fmt::Display for NotFound {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("no such object")
//!     }
//! }
//!
//! #[spanwright::span(name = "storage.download", kind = client, attrs(bucket, object.size = size))]
//! fn download(bucket: &str, size: u64) -> Result<Vec<u8>, NotFound> {
//!     if size == 0 { Err(NotFound) } else { Ok(vec![0; size as usize]) }
//! }
//!
//! let (result, spans) = capture(|| download("models", 0));
//! assert!(result.is_err());
//! let span = spans.named("storage.download");
//! assert_eq!(span.attr("bucket"), Some(&Value::from("models")));
//! assert_eq!(span.attr("object.size"), Some(&Value::I64(0)));
//! assert_eq!(span.status, Status::error("no such object"));
//! ```
//!
//! ## Choices where the contract is silent
//!
//! - **When an async span starts.** An `async fn`'s span starts at the first poll
//!   of its future (nothing of the body runs before), and is current during each
//!   poll and only then.
//! - **Attributes and the sampler.** The attribute expressions you name run only
//!   for a span that is recorded. With the samplers spanwright configures itself
//!   (`always_on`, `always_off`, `parentbased_always_on`/`_off`, the default), the
//!   decision is known before the span is built, so the attributes are evaluated
//!   first and passed at build time, the cheapest way. With any other sampler
//!   (ratio-based, or one given in code whose decision is opaque) the sampler sees
//!   the span name (a template unfilled), kind, parent, links and the `code.*`
//!   attributes, and the attributes are set once it has kept the span.
//! - **Wide integers.** `u64`, `usize`, `i128` and `u128` values record as Int when
//!   they fit in an `i64`, as a decimal string when they do not.
//! - **`ret`.** Records the (`Ok`) value typed when it is an attribute value type,
//!   otherwise its `Debug`.
//! - **Error description.** `Display` of the error; `Debug` when it has no
//!   `Display`; the type name when it has neither. `error.type` and
//!   `exception.type` are `std::any::type_name` of the error type.
//! - **`code.function.name`** is `module_path!()` and the function name (a method's
//!   `impl` type is not visible to an attribute macro).
//! - **Instrumentation scope.** Spans are recorded under the tracer `spanwright`.
//! - **Messaging attributes.** `#[traced_job]` has no shortcut options for the
//!   messaging conventions: name them like any attribute,
//!   `attrs(messaging.system = "redis", messaging.destination.name = queue)`.
//!   A shortcut would save a few characters and hide which keys are set.
//! - **Panic location.** The `exception` event of a panic carries
//!   `code.file.path`, `code.line.number` and `code.column.number` of the panic.
//! - **What a panic records.** A span the panic unwinds through records the
//!   panic's own message, read from its payload (the payload is caught and
//!   re-thrown unchanged). A panic in an attribute expression or a name template
//!   still produces the span, with status Error, and the function's body does not
//!   run; an `Err` whose `Display` panics is recorded with status Error and its
//!   `error.type`. In each case the panic then goes on.
//! - **Lost spans are counted.** [`Telemetry::stats`] counts ended, exported and
//!   dropped spans and failed exports; the first drop (export queue full) and the
//!   first failed export each print one line on stderr naming the cause and the
//!   setting to change, at most once every 10 s per cause, and shutting down prints
//!   a summary if anything was lost. The default queue holds 16,384 spans and a
//!   batch 2,048 (the SDK's 2,048 and 512 lose spans under a steady 50,000
//!   spans/s into a local collector); `OTEL_BSP_MAX_QUEUE_SIZE` and
//!   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` win.
//! - **Flushing a job.** `#[traced_job(flush)]` waits at most 1 s
//!   ([`TelemetryBuilder::flush_timeout`]); an async job awaits it without
//!   blocking its executor's thread.
//!
//! ## Exporting to a collector
//!
//! The default features export OTLP over gRPC and HTTP/protobuf, with TLS and gzip:
//!
//! ```toml
//! spanwright = "0.1"                                          # OTLP, both transports
//! spanwright = { version = "0.1", default-features = false }  # lean: console and none
//! ```
//!
//! Everything comes from the standard variables, each also in its
//! `OTEL_EXPORTER_OTLP_TRACES_*` form, which wins; enumerated values are
//! case-insensitive; a bad value is an [`InitError`] naming the variable:
//!
//! | variable | accepted | default |
//! | --- | --- | --- |
//! | `OTEL_TRACES_EXPORTER` | a list of `otlp`, `console`, `none` | `otlp` (lean build: `console`) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | a URL; HTTP gets `/v1/traces` | `http://localhost:4318` (gRPC: `:4317`) |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc`, `http/protobuf` | `http/protobuf` (`grpc` if it is the only transport built) |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,...`, percent-encoded | none |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip`, `none` | `none` |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` | milliseconds | `10000` |
//! | `OTEL_EXPORTER_OTLP_CERTIFICATE` | a PEM CA file, trusted besides the public roots | none |
//! | `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `_CLIENT_KEY` | PEM files, both or neither (mutual TLS) | none |
//! | `OTEL_EXPORTER_OTLP_INSECURE` | `true`, `false`: the scheme of an endpoint written without one | `false` (`https`) |
//!
//! TLS is rustls with the ring provider (no C toolchain beyond `cc`, no cmake),
//! trusting Mozilla's root certificates compiled in (webpki-roots): the same
//! roots in every container, whether or not it has a CA bundle installed. A
//! private CA is added with `OTEL_EXPORTER_OTLP_CERTIFICATE`. A missing or
//! unreadable certificate file is an [`InitError`]. With
//! `OTEL_TRACES_EXPORTER=otlp,console` spans go to both (and [`Telemetry::stats`]
//! counts each span once per exporter).
//!
//! ## Propagation: W3C Trace Context and Baggage, strictly
//!
//! [`extract`], [`inject`] and the macros' `parent =` / `link =` speak W3C Trace
//! Context and W3C Baggage by default (`OTEL_PROPAGATORS=tracecontext,baggage`),
//! with spanwright's own propagators, which follow the recommendations to the
//! letter where the SDK's accept more:
//!
//! - A `traceparent` is continued only if valid: version `00` is exactly
//!   `00-<32 hex>-<16 hex>-<2 hex>` in lower case; a higher version is that
//!   prefix followed by the end or `-`; version `ff` and all-zero ids never.
//!   Spaces and tabs around the value are ignored. Anything else starts a new
//!   trace, and its `tracestate` is ignored with it.
//! - The sampled flag and Level 2's random trace-id flag (`02`) are carried on;
//!   other flag bits are not.
//! - `tracestate`: repeated header lines are combined; at most 32 members; an
//!   invalid member or a repeated key drops the whole list (the trace is still
//!   continued). Keys follow the Level 2 grammar, but OpenTelemetry's
//!   `TraceState` cannot hold a key with two `@` or more than 13 characters after
//!   its `@`, so a list with such a key is dropped whole. An empty `tracestate`
//!   is not sent.
//! - `baggage`: values are percent-decoded on the way in and encoded on the way
//!   out; an invalid member is dropped and the rest kept; at most 64 members and
//!   8,192 bytes, in order, members never cut. A carrier whose `traceparent` is
//!   missing or invalid still contributes its baggage to the new trace.
//!
//! Carriers are `HashMap<String, String>`, any type implementing
//! OpenTelemetry's `Extractor` / `Injector`, and with the feature `http`,
//! `http::HeaderMap` directly (`parent = request.headers()`,
//! `spanwright::inject(request.headers_mut())`); see [`carrier`].
//!
//! ## Panic hooks and the order of installation
//!
//! The panic's location comes from a panic hook that spanwright chains in front
//! of the hook in place when telemetry is first installed (or a capture first
//! runs). Install your own hook *before* [`init`] and both run. A hook installed
//! *after* it replaces spanwright's: spans then still record the panic's message,
//! but no location (never another panic's). If you must install a hook later,
//! call the one you replaced from it:
//!
//! ```
//! let telemetry = spanwright::Telemetry::builder().no_export().install().unwrap();
//! let previous = std::panic::take_hook();
//! std::panic::set_hook(Box::new(move |info| {
//!     // ... your reporting ...
//!     previous(info); // keeps spanwright's (and the default) hook running
//! }));
//! # drop(telemetry);
//! ```
//!
//! ## How the crate is laid out
//!
//! The runtime is grouped by role, one folder each:
//!
//! - `span/`: the hot path every annotated call runs through: the enabled check,
//!   the call site, span start, the recording that ends the span, the sync and
//!   async runners, return-value and attribute-value conversion, the installed
//!   tracer and the sampler prediction.
//! - `context/`: the current span ([`current`]), trace context across process
//!   boundaries ([`inject`], [`extract`]) and panic capture.
//! - `setup/`: [`init`], [`Telemetry`] and its builder, and the reading of each
//!   `OTEL_*` variable; [`InitError`].
//! - `export/`: the choice of exporter, the console exporter and its waterfall
//!   renderer, OTLP, and the attribute value length limit.
//!
//! Code the macros generate reaches the runtime only through one hidden module,
//! so the runtime's layout can change without breaking compiled macro output.
//!
//! ## The disabled path
//!
//! Until [`init`] installs telemetry, an annotated function does one relaxed
//! atomic load ([`enabled`]) and a branch, then runs its body: no clock, no
//! allocation, no attribute evaluation, no thread-local access. With the cargo
//! feature `off`, the macros emit the function unchanged.
#![doc(html_root_url = "https://docs.rs/spanwright/0.1.0")]
#![forbid(unsafe_code)]

extern crate self as spanwright;

mod context;
mod export;
mod setup;
mod span;

pub use context::carrier;
pub mod testing;

#[cfg(feature = "tracing")]
pub mod logs;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use context::current::{CurrentSpan, current};
pub use context::propagation::{extract, inject};
pub use export::stats::ExportStats;
pub use setup::error::InitError;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub use setup::otlp::OtlpProtocol;
pub use setup::telemetry::{Telemetry, TelemetryBuilder, init};
pub use span::switch::enabled;
pub use span::value::{ArrayElement, AttrValue};

/// Instruments a function with an OpenTelemetry span. See the crate docs and
/// `SPEC.md` for the options.
///
/// ```
/// #[spanwright::span(name = "job.{kind}", kind = consumer, attrs(job.id = id, ?kind))]
/// fn handle(kind: &str, id: u64) {}
///
/// let ((), spans) = spanwright::testing::capture(|| handle("resize", 9));
/// assert_eq!(spans[0].name, "job.resize");
/// ```
pub use spanwright_macros::span;

/// Instruments a job entrypoint: a consumer span that starts a new trace (or
/// continues the one in `parent = carrier`) and records `job.status` and
/// `job.duration_ms`.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// #[spanwright::traced_job(id = job_id)]
/// fn run(job_id: u64) {}
///
/// let ((), spans) = spanwright::testing::capture(|| run(5));
/// assert_eq!(spans[0].attr("job.id"), Some(&Value::I64(5)));
/// assert_eq!(spans[0].attr("job.status"), Some(&Value::from("completed")));
/// ```
pub use spanwright_macros::traced_job;

/// The OpenTelemetry API crate spanwright is built on.
pub use opentelemetry;
/// The OpenTelemetry SDK crate spanwright is built on.
pub use opentelemetry_sdk;

/// The README's example, compiled with the doctests so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
