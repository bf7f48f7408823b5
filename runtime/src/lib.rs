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
//! ## Getting started
//!
//! ```toml
//! [dependencies]
//! spanwright = "0.1"                                   # OTLP (gRPC + HTTP/protobuf), TLS, gzip
//! # spanwright = { version = "0.1", default-features = false, features = ["sdk"] }       # console, none or your own exporter
//! # spanwright = { version = "0.1", default-features = false, features = ["otlp-grpc"] } # one transport
//! # spanwright = { version = "0.1", default-features = false }                           # a library's line
//! # spanwright = { version = "0.1", features = ["http", "tracing"] }                     # extras
//! ```
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `otlp` (default) | `otlp-grpc` and `otlp-http` |
//! | `otlp-grpc`, `otlp-http` | `sdk`, and OTLP over one transport, with TLS and gzip |
//! | `sdk` | what installs telemetry, through the OpenTelemetry SDK: [`init`], [`Telemetry`], the console exporter, your own `SpanExporter`, [`testing`]. Without it (`default-features = false`, a library's line) the macros, [`current`], [`inject`] and [`extract`] work, and annotated functions record once an application in the same build installs telemetry |
//! | `tls-native-roots` | `otlp`, trusting the operating system's certificate store (corporate CAs; `SSL_CERT_FILE` and `SSL_CERT_DIR` honoured) beside Mozilla's roots |
//! | `http` | `http::HeaderMap` as a carrier of trace context ([`carrier`]); `http::ServerLayer`, a tower layer making one server span per request (an RPC span for gRPC), and `http::ClientLayer`, its client side. Without `sdk` too (a middleware library's line): the layers record once the application installs telemetry |
//! | `axum` | `http`, and the server span named after axum's matched route |
//! | `reqwest` | `http`, and `http::ClientMiddleware`: client spans for reqwest, through reqwest-middleware |
//! | `metrics` (default) | `sdk`, and metrics beside traces: `job.duration`, `#[span(metrics)]`'s `function.calls`, the server layer's `http.server.request.duration`, with exemplars (see "Metrics") |
//! | `tracing` | `sdk`, and `tracing_layer()`: `tracing` spans (from hyper, sqlx, tokio, ...) in the same traces; the `logs` module: JSON log lines stamped with trace and span ids, `tracing` events as span events |
//! | `off` | every annotated function compiled as if it were not annotated |
//!
//! Then install telemetry once, at the start of `main`, and keep the returned
//! [`Telemetry`] alive: dropping it flushes and shuts down.
//!
//! ```
//! # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
//! fn main() {
//!     let telemetry = spanwright::init().expect("valid OTEL_* settings");
//!     // ... serve ...
//!     let stats = telemetry.shutdown(); // or just let it drop
//!     assert_eq!(stats.spans_dropped, 0);
//! }
//! ```
//!
//! One dependency graph holds one spanwright runtime: the package declares
//! Cargo's `links = "spanwright"`, so a graph with two semver-incompatible
//! versions (a library on 0.1, the application on a later major version, from
//! the first release that declares the key) fails to resolve with a message
//! naming spanwright, instead of building two pipelines of which only one is
//! ever installed. The graph is the whole workspace's (its lock file, dev-dependencies
//! included), and the same version from two sources (a git checkout beside
//! crates.io) conflicts too: upgrade them together.
//!
//! The options of the macros are documented on [`span`] and [`traced_job`].
//!
//! ## Configuration
//!
//! [`init`] reads the standard variables; [`Telemetry::builder`] sets the same in
//! code, where code wins. A bad value is an [`InitError`] naming the variable, its
//! value and what is accepted; enumerated values are case-insensitive; an empty
//! variable counts as unset. [`Telemetry::describe`] lists what is in force and
//! where each value came from.
//!
//! | variable | accepted | default |
//! | --- | --- | --- |
//! | `OTEL_SDK_DISABLED` | `true`, `false` | `false`; `true` turns everything off |
//! | `SPANWRIGHT_SPANS` | `target=on\|off,...`: annotated functions by crate or module path (`storage_lib=off,storage_lib::upload=on`; the most specific target wins; a function turned off runs without a span, what it calls attaches to its caller) | everything on |
//! | `OTEL_ENABLED` | `true`, `false` | `true`; `false` turns everything off |
//! | `OTEL_SERVICE_NAME` | any | from `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,...` | none (`OTEL_SERVICE_NAME` wins for `service.name`) |
//! | `OTEL_TRACES_EXPORTER` | a list of `otlp`, `console`, `none` | `otlp` (without OTLP in the build: `console`) |
//! | `OTEL_TRACES_SAMPLER` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`, `parentbased_traceidratio_keep_errors` (see "Sampling that keeps errors") | `parentbased_always_on` |
//! | `OTEL_TRACES_SAMPLER_ARG` | a ratio from 0.0 to 1.0 | `1.0` |
//! | `SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE`, `SPANWRIGHT_KEEP_ERRORS_MAX_SPANS`, `SPANWRIGHT_KEEP_ERRORS_MAX_WAIT_MS` | a whole number, 1 or more | `1000`, `50000`, `30000` |
//! | `OTEL_PROPAGATORS` | a list of `tracecontext`, `baggage`, `none` | `tracecontext,baggage` |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | a whole number, 1 or more | `16384` |
//! | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | 1 to the queue size | `512` |
//! | `OTEL_BSP_SCHEDULE_DELAY` | milliseconds | `5000` (console: `100`) |
//! | `OTEL_BSP_EXPORT_TIMEOUT` | milliseconds (validated; exports are bounded by `OTEL_EXPORTER_OTLP_TIMEOUT`) | `30000` |
//! | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_ATTRIBUTE_COUNT_LIMIT` | a whole number | `128` |
//! | `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT` | a whole number | `128` |
//! | `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | a whole number | `128` |
//! | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | characters | unlimited |
//! | `OTEL_EXPORTER_OTLP_*` | see "Exporting to a collector" below | |
//!
//! ## Jobs
//!
//! [`traced_job`] marks the function that handles one queue message: a consumer
//! span, a new trace unless `parent = carrier` continues the producer's, and
//! `job.status` / `job.duration_ms` at the end. The producer writes the context
//! into the message with [`inject`]:
//!
//! ```
//! use std::collections::HashMap;
//!
//! #[spanwright::span(kind = producer)]
//! fn publish(queue: &mut Vec<HashMap<String, String>>) {
//!     let mut headers = HashMap::new();
//!     spanwright::inject(&mut headers);
//!     queue.push(headers);
//! }
//!
//! #[spanwright::traced_job(parent = headers)]
//! fn work(headers: &HashMap<String, String>) {}
//!
//! let ((), spans) = spanwright::testing::capture(|| {
//!     let mut queue = Vec::new();
//!     publish(&mut queue);
//!     work(&queue[0]);
//! });
//! let (producer, job) = (spans.named("publish"), spans.named("work"));
//! assert_eq!(job.parent_span_id, producer.span_context.span_id());
//! ```
//!
//! ## Testing
//!
//! [`testing::capture`] (and [`testing::capture_async`]) records every span made
//! inside it, even when [`init`] was never called, and only those: tests running
//! at the same time each see their own. [`testing::SpanDataExt`] reads attributes;
//! `Captured::named` finds a span by name and `Captured::tree` draws them.
//!
//! ## Costs and the `off` switch
//!
//! Until telemetry is installed, an annotated function does one relaxed atomic
//! load and a branch ([`enabled`]), then runs its body: no clock, no allocation,
//! no attribute evaluation (BENCHMARKS.md in the repository has the instruction
//! counts). The feature `off` removes even that: the macros emit the function as
//! written. Features unify across a build, so enable `off` only in a binary's
//! manifest, never in a library's: a library that turned it on would silently
//! turn off every user's spans.
//!
//! ## Troubleshooting
//!
//! - **Spans are missing.** [`Telemetry::stats`] counts spans ended, exported and
//!   dropped, and failed exports. A full export queue prints one line on stderr
//!   ("the export queue is full"): raise `OTEL_BSP_MAX_QUEUE_SIZE`, or record fewer
//!   spans. Keep the [`Telemetry`] alive until the end of `main` (it is
//!   `#[must_use]`; `let _ = spanwright::init()` drops it at once).
//! - **The collector is unreachable.** Exports fail without blocking the
//!   application (the queue fills, then drops, all counted); the first failure
//!   prints one line naming the endpoint and the error, at most once every 10 s,
//!   and shutdown prints a summary. Check `OTEL_EXPORTER_OTLP_ENDPOINT` and
//!   `OTEL_EXPORTER_OTLP_PROTOCOL` (4317 is gRPC, 4318 HTTP). For TLS, a private CA
//!   goes in `OTEL_EXPORTER_OTLP_CERTIFICATE`.
//! - **Panics show no location.** A panic hook installed after [`init`] replaced
//!   spanwright's; see "Panic hooks" below.
//! - **No spans at all in a binary.** Some dependency enabled the feature `off`
//!   (`cargo tree -e features -i spanwright` shows which).
//! - **`InitError::AlreadyInstalled`.** Another [`Telemetry`] is alive; drop it
//!   first.
//! - **Where each kind of output goes.** The `console` exporter draws on stderr;
//!   `logs::json_layer()` (feature `tracing`) writes to stdout; spanwright's own lines
//!   (drops, failed exports, the shutdown summary) go to stderr, or wherever
//!   [`TelemetryBuilder::on_diagnostic`] sends them: route them into the
//!   service's own logging there. Writing them never panics or blocks, even on a
//!   closed stderr or a pipe nobody reads (a line is dropped instead). No line
//!   names a header value or an endpoint's user info.
//! - **Memory stays bounded in a long-running service.** The attribute value
//!   length limit (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`) is applied as a span ends,
//!   before it waits in the export queue; the queue holds
//!   `OTEL_BSP_MAX_QUEUE_SIZE` spans (then drops, counted); the console exporter
//!   holds at most 1,000 unfinished spans of one trace (10,000 in all) and then
//!   draws what it has, marked incomplete; `#[traced_job(flush)]` uses at most
//!   two helper threads per installation, however many jobs flush; dropping
//!   [`Telemetry`] releases the installation (provider, processors, queue) as
//!   soon as the spans and futures still in flight are done, whatever threads
//!   used it.
//! - **The exporter's own libraries in your traces.** The built-in exporters'
//!   are not: their export runs in OpenTelemetry's suppressed-telemetry scope
//!   and the `tracing` bridge and log layers pass nothing emitted there. An
//!   exporter of your own that sends from your application's runtime should
//!   enter that scope itself (`Context::enter_telemetry_suppressed_scope`). Keep
//!   a level filter in the subscriber all the same (see "HTTP services and the
//!   `tracing` ecosystem").
//!
//! ## Choices made where OpenTelemetry leaves room
//!
//! - **When an async span starts, and its parent.** See "Async functions,
//!   spawned tasks and cancellation" below.
//! - **What an annotated `async fn` becomes.** A plain `fn` returning
//!   `impl Future<Output = ..>` that captures every parameter, lifetime and type
//!   parameter, as the `async fn` did, in a crate of any edition; callers see no
//!   difference, rustdoc shows the `fn` form. Its future holds the parameters once
//!   and keeps them until the body is done, like an `async fn`'s.
//! - **Attributes and the sampler.** The attribute expressions you name run only
//!   for a span that is recorded: the sampler decides first. With the samplers
//!   spanwright configures itself (`always_on`, `always_off`,
//!   `parentbased_always_on`/`_off`, the default) the decision needs no call;
//!   any other sampler (ratio-based, or any `ShouldSample` given in code) is
//!   asked with the span name (a template unfilled), kind, parent, links and the
//!   `code.*` attributes, and what it adds (attributes, a trace state) is kept.
//!   A sampler's `RecordOnly` records the span without exporting it.
//! - **Wide integers.** `u64`, `usize`, `i128` and `u128` values record as Int when
//!   they fit in an `i64`, as a decimal string when they do not.
//! - **`ret`.** Records the (`Ok`) value typed when it is an attribute value type,
//!   otherwise its `Debug`.
//! - **Error description.** `Display` of the error; `Debug` when it has no
//!   `Display`; the type name when it has neither. `error.type` and
//!   `exception.type` are `std::any::type_name` of the error type.
//! - **`code.function.name`** is `module_path!()` and the function name (a method's
//!   `impl` type is not visible to an attribute macro).
//! - **Instrumentation scope.** An annotated function's spans carry the scope of
//!   the package that holds it (its Cargo name and version), so a backend or a
//!   filter can tell a library's spans from the application's; the spans of the
//!   `http` layers and of the `tracing` bridge carry `spanwright` and its version.
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
//!   batch 512 (the SDK's queue of 2,048 loses spans under a steady 50,000
//!   spans/s into a local collector over gRPC); `OTEL_BSP_MAX_QUEUE_SIZE` and
//!   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` win. A batch leaves the queue as it is sent,
//!   so while an export is under way (a slow collector, its retries) at most
//!   the queue and that batch are held per exporter. An exporter that panics loses its batch
//!   (counted as a failed export), not the export thread; spans that end after
//!   their installation shut down are not queued.
//! - **How spans are recorded.** spanwright records annotated functions, the
//!   `http` layers' spans and the `tracing` bridge's spans itself, not through
//!   the SDK's span objects: a compact
//!   record per span (ids from a generator of each thread's own, start and end
//!   read from the monotonic clock and converted to Unix time from a wall-clock
//!   reading each thread takes again every second, so times follow a stepped
//!   wall clock within a second and a span never ends before it starts), with the span limits
//!   (`OTEL_SPAN_*_COUNT_LIMIT`, `OTEL_*_ATTRIBUTE_COUNT_LIMIT`) applied as the
//!   SDK applies them. While a span runs, the current OpenTelemetry context holds
//!   a span whose `SpanContext` parents whatever starts under it (SDK spans of
//!   hand-written code included) and whose `set_attribute`, `add_event`,
//!   `set_status`, `update_name` and `add_link` write into the record, so
//!   `get_active_span(|span| ..)` works as with the SDK. Ended records wait in one
//!   bounded queue per exporter, drained by one thread each; the OTLP exporter
//!   writes the protobuf request straight from them, the console, your own
//!   `SpanExporter` and [`testing::capture`] get `SpanData` made from them. Spans
//!   of hand-written SDK code (the SDK's own, through the global provider
//!   spanwright installs) join the same queues. A job's
//!   `job.status` and `job.duration_ms` are its first two attributes; the
//!   attribute limit keeps room for them. What is not kept: the SDK's
//!   `SpanProcessor::on_start` hooks never see spanwright's spans (spanwright's
//!   own provider has no processor of yours; with
//!   [`TelemetryBuilder::tracer_provider`] every annotated function goes through
//!   your provider's span objects and processors, at the SDK's cost, and a job's
//!   span then records `job.status` at its end but no `job.duration_ms`).
//! - **Flushing a job.** `#[traced_job(flush)]` waits at most 1 s
//!   ([`TelemetryBuilder::flush_timeout`]); an async job awaits it without
//!   blocking its executor's thread.
//!
//! ## Async functions, spawned tasks and cancellation
//!
//! An annotated `async fn` behaves like one under `#[tracing::instrument]`:
//!
//! - **Parent: where it is called.** The span's parent is the context current
//!   when the function is *called* (when its future is made), wherever and
//!   whenever the future is first polled. `tokio::spawn(send_email(user))` inside
//!   a request's span continues the request's trace on any worker thread, also
//!   when the task runs after the request has returned; a future made in one span
//!   and awaited in another belongs to the first.
//! - **Start: the first poll.** The span starts when the future is first polled
//!   (its attribute expressions run then), and is current during each poll and
//!   only then, so interleaved futures on one thread each see their own span.
//! - **Drop: inside the span.** When the future is dropped, completed or
//!   cancelled (by `select!`, a timeout, a client going away), the body's
//!   destructors (its locals and parameters) run with the span current, then the
//!   span ends; a cancelled one carries `cancelled = true`.
//! - **Made while tracing was off.** A future made while nothing records under the
//!   current context (before [`init`], or outside a [`testing::capture_async`] it
//!   is then handed to) takes its parent at its first poll instead, so
//!   `capture_async(work())` records `work`'s span.
//!
//! The same holds for a function returning `impl Future` or
//! `Pin<Box<dyn Future>>` whose body ends in an async block: the parent is taken
//! where the block is made. `main` under `#[traced_job(init)]` takes it after
//! telemetry is installed.
//!
//! ```
//! use spanwright::testing::capture_async;
//!
//! #[spanwright::span]
//! async fn send_email(user: u32) {}
//!
//! #[spanwright::span]
//! async fn handle_request(user: u32) -> tokio::task::JoinHandle<()> {
//!     // No `.with_current_context()` needed: the parent is taken here.
//!     tokio::spawn(send_email(user))
//! }
//!
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
//! let ((), spans) = capture_async(async {
//!     let email = handle_request(7).await;
//!     email.await.unwrap(); // after the request's span has ended
//! })
//! .await;
//! let request = spans.named("handle_request").span_context.span_id();
//! assert_eq!(spans.named("send_email").parent_span_id, request);
//! # });
//! ```
//!
//! ## Sampling that keeps errors
//!
//! Head sampling decides when a trace's root starts, before anyone knows it
//! will fail: at 10 % you lose 90 % of your failures. With
//! `OTEL_TRACES_SAMPLER=parentbased_traceidratio_keep_errors` and
//! `OTEL_TRACES_SAMPLER_ARG=0.1` (or [`TelemetryBuilder::keep_errors`]) you
//! keep 10 % of normal traces and every local trace that failed:
//!
//! - Traces chosen up front (by trace id, exactly as `parentbased_traceidratio`
//!   chooses them, so services agree) are recorded and exported as usual.
//! - Every other span is recorded too and held in memory with its local trace:
//!   the spans of that trace in this process, under its local root (the
//!   outermost one here). When the root ends, the whole local trace is exported
//!   if any of its spans ended with status Error (an `Err`, a panic, a 5xx from
//!   `ServerLayer`, an error set by hand), else discarded. A span that ends after
//!   its trace was decided follows the decision.
//! - Downstream services see the up-front decision: `traceparent` carries
//!   flags `00` for a held trace, so a downstream service with the same sampler
//!   holds its own part and keeps it only if it fails there too (its spans then
//!   name a parent that may never be exported); one with a plain head sampler
//!   drops it. Spans of the `tracing` bridge are held with their trace (a
//!   `tracing` span can be the local root: an HTTP request's span, say); spans
//!   of hand-written SDK code under a held span follow the SDK's parent-based
//!   sampler: not recorded, and spanwright's spans under them name a parent
//!   that is never exported.
//! - Memory is bounded: a local trace holds at most
//!   `SPANWRIGHT_KEEP_ERRORS_MAX_SPANS_PER_TRACE` spans (1,000), all traces
//!   together `SPANWRIGHT_KEEP_ERRORS_MAX_SPANS` (50,000, some 26 MB), and a
//!   span waits at most `SPANWRIGHT_KEEP_ERRORS_MAX_WAIT_MS` (30,000; a
//!   server's `main` span never ends). A bound reached makes the trace decide
//!   what it holds at once: exported if anything failed so far (the trace is
//!   then kept to its end), else discarded and holding starts again; beyond the
//!   total, the traces that have held longest go first. Waits are checked as
//!   spans end and, at most once a second, as new traces start. Shutting down
//!   decides every trace still open on what it holds.
//! - Counted apart from losses: [`ExportStats::spans_discarded_by_sampler`]
//!   (held and discarded, the purpose of the sampler) and
//!   [`ExportStats::spans_forced_out`] (discarded early by a bound);
//!   `spans_dropped` stays for real losses.
//! - Cost: a held span is recorded as a sampled one is; on the calling thread
//!   it costs 1.2 to 1.6 times as much (a discarded record is freed there, an
//!   exported one by the export thread; BENCHMARKS.md has the figures), in
//!   total less (it is never encoded or sent), and the held records' memory
//!   until their trace is decided. Metrics, which count
//!   every call before any sampling, are not affected.
//!
//! The OpenTelemetry Collector's `tail_sampling` processor decides on whole
//! traces across services, but needs every span of a trace routed to one
//! collector instance and holds traces for a fixed time; this sampler decides
//! per process, with no extra infrastructure, as soon as the local root ends.
//! The two combine: keep errors here, sample across services there.
//!
//! ```
//! #[spanwright::span(root)]
//! fn handle(fail: bool) -> Result<(), String> {
//!     if fail { Err("no".into()) } else { Ok(()) }
//! }
//!
//! let telemetry = spanwright::Telemetry::builder()
//!     .keep_errors(0.0) // no trace chosen up front: only failures are kept
//!     .no_export()
//!     .install()
//!     .unwrap();
//! let _ = handle(false);
//! let _ = handle(true);
//! let stats = telemetry.shutdown();
//! assert_eq!(stats.spans_discarded_by_sampler, 1);
//! ```
//!
//! ## Metrics
//!
//! With the feature `metrics` (on by default) telemetry records metrics beside
//! traces: from each span's own start and end, for every call, *before* the
//! sampler decides, so the counts stay complete when 1 % of traces is kept.
//! Each bucket of a duration histogram keeps an exemplar, the trace and span id
//! of a *sampled* span that fell into it (none for spans the sampler dropped),
//! so a dashboard's spike opens its trace.
//!
//! | instrument | kind, unit | attributes | recorded by |
//! | --- | --- | --- | --- |
//! | `job.duration` | histogram, `s`: 0.005 … 10, then 30 s … 1 h | `job.name` (the span's name; a name template as written, never filled in), `job.status` (`completed`, `failed`, `panicked`, `cancelled`, `unknown`), `error.type` when failed or panicked; never `job.id` | every `#[traced_job]` |
//! | `function.calls` | counter, `{call}` | `function`, `module`, `result` (`error` for an `Err` or a panic; `ok` otherwise, a cancelled call included) | [`#[span(metrics)]`](span#metrics) |
//! | `function.calls.duration` | histogram, `s`: 0.005 … 10 | `function`, `module` | [`#[span(metrics)]`](span#metrics) |
//! | `http.server.request.duration` | histogram, `s`: the semantic conventions' 0.005 … 10 | `http.request.method`, `url.scheme`, `http.route`, `http.response.status_code`, `error.type`, `network.protocol.version` | `http::ServerLayer` (not for gRPC calls) |
//! | `http.server.active_requests` | up-down counter, `{request}` | `http.request.method`, `url.scheme` | `http::ServerLayer` |
//!
//! | variable | accepted | default |
//! | --- | --- | --- |
//! | `OTEL_METRICS_EXPORTER` | a list of `otlp`, `console`, `none` | `otlp` (without OTLP in the build: `none`), whatever `OTEL_TRACES_EXPORTER` says; when the span exporter is chosen in code, metrics follow it: to the same collector for [`TelemetryBuilder::otlp`] (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` and `_PROTOCOL` each override their part of it), else `none` (`console()`, `no_export()`, your own exporter) |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | milliseconds, 1 or more | `60000` |
//! | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, `_PROTOCOL`, `_HEADERS`, `_COMPRESSION`, `_TIMEOUT`, `_CERTIFICATE`, `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`, `_INSECURE` | as for traces (below); each wins over its generic `OTEL_EXPORTER_OTLP_*` form, which traces and metrics share; a generic endpoint gets `/v1/metrics` over HTTP | the generic form's |
//!
//! Sums and histograms are cumulative (the OTLP exporters' default temporality):
//! each export carries the totals since `init()`, and the exemplars of its
//! interval. [`Telemetry::flush`] exports them too, and dropping the
//! [`Telemetry`] exports what is pending, within the shutdown timeout;
//! `#[traced_job(flush)]` exports them after the spans, within the job's flush
//! bound (a one-shot job that exits without dropping its `Telemetry` keeps its
//! `job.duration`). Nothing is recorded while telemetry is off
//! (`OTEL_SDK_DISABLED=true`, no `init()`), under `testing::capture`, for the
//! exporter's own work, nor by a call site `SPANWRIGHT_SPANS` turned off. The
//! server layer's instruments keep at most 2,000 attribute sets each; more go
//! to one series marked `otel.metric.overflow=true`, as the SDK does (the
//! series of jobs and functions are bounded by the call sites in the code).
//! Spans held by sampling that keeps errors are not sampled when they end, so
//! they give no exemplar. Prometheus keeps exemplars only when it scrapes
//! OpenMetrics with exemplar storage enabled; Tempo, Grafana Cloud and other
//! OTLP backends take them as they come.
//!
//! The function metrics follow the autometrics specification (1.0): the names
//! `function.calls` and `function.calls.duration`, the labels `function`,
//! `module` (the module path) and `result`, seconds and the same default
//! buckets; through the Collector's Prometheus exporter they become
//! `function_calls_total` and `function_calls_duration_seconds`, what
//! autometrics' dashboards and alerts query. Not followed: `caller.function`
//! and `caller.module`, the `objective.*` labels (SLOs), the
//! `function.calls.concurrent` gauge and `build_info`; `service.name` is the
//! resource's, not a label of each point.
//!
//! The aggregation is spanwright's own, not the SDK's meter: the SDK keeps no
//! exemplars (opentelemetry-rust #3369). A call site's series are found by its
//! address and outcome, so recording a `metrics` call costs some 450–500
//! instructions on the calling thread (the SDK's counter and histogram with the
//! same attributes: some 3,200; BENCHMARKS.md has the figures).
//!
//! Dashboard queries, with the Collector's Prometheus exporter (a unit `s`
//! becomes `_seconds`):
//!
//! ```text
//! # jobs per second, by job
//! sum by (job_name) (rate(job_duration_seconds_count[5m]))
//! # the share of jobs that failed or panicked
//! sum by (job_name) (rate(job_duration_seconds_count{job_status=~"failed|panicked"}[5m]))
//!   / sum by (job_name) (rate(job_duration_seconds_count[5m]))
//! # p99 job duration
//! histogram_quantile(0.99, sum by (le, job_name) (rate(job_duration_seconds_bucket[5m])))
//! # a function's error ratio (the shape of autometrics' error-ratio query)
//! sum by (function, module) (rate(function_calls_total{result="error"}[5m]))
//!   / sum by (function, module) (rate(function_calls_total[5m]))
//! ```
//!
//! ```
//! # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
//! # unsafe { std::env::set_var("OTEL_METRICS_EXPORTER", "console") };
//! #[spanwright::span(metrics)]
//! fn lookup(key: &str) -> Result<usize, String> {
//!     key.parse::<usize>().map_err(|e| e.to_string())
//! }
//!
//! #[spanwright::traced_job]
//! fn nightly() {}
//!
//! let telemetry = spanwright::init().unwrap(); // describe(): metrics.exporter = console
//! let _ = lookup("7");
//! let _ = lookup("seven");
//! nightly();
//! drop(telemetry); // the console gets: function.calls by result, their durations, job.duration
//! ```
//!
//! ## Exporting to a collector
//!
//! The default features export OTLP over gRPC and HTTP/protobuf, with TLS and gzip:
//!
//! ```toml
//! spanwright = "0.1"                                          # OTLP, both transports
//! spanwright = { version = "0.1", default-features = false, features = ["sdk"] }  # console, none or your own exporter
//! ```
//!
//! Everything comes from the standard variables, each also in its
//! `OTEL_EXPORTER_OTLP_TRACES_*` form, which wins; enumerated values are
//! case-insensitive; a bad value is an [`InitError`] naming the variable:
//!
//! | variable | accepted | default |
//! | --- | --- | --- |
//! | `OTEL_TRACES_EXPORTER` | a list of `otlp`, `console`, `none` | `otlp` (without OTLP in the build: `console`) |
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
//!   other flag bits are not. The random flag describes the trace id, so it goes
//!   on whatever the sampler decides: a span the sampler drops still injects
//!   `02` under a parent that had it.
//! - `tracestate`: repeated header lines are combined; at most 32 members; a
//!   repeated key keeps its first member and discards the repeats; an invalid
//!   member drops the whole list (the trace is still continued). Keys follow the Level 2 grammar, but OpenTelemetry's
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
//! ## HTTP services and the `tracing` ecosystem
//!
//! A service built on axum, tonic or hyper gets one server span per request from
//! `http::ServerLayer` (feature `http`; `axum` names it after the matched
//! route). It continues the trace in the request's headers, sets the HTTP
//! semantic-convention attributes, and sets status Error for a 5xx response
//! (`error.type` is the status code; no `exception` event, as none happened) or
//! a panicking handler (`error.type` = `panic`, with its `exception` event); a
//! 4xx is the client's error and leaves the status Unset. A method the
//! conventions do not know is recorded as `_OTHER` (span name `HTTP ...`, the
//! original in `http.request.method_original`); `url.scheme` is `https` with
//! `ServerLayer::new().behind_tls()`, and follows `X-Forwarded-Proto` only with
//! `.trust_forwarded_proto()`. The layer's spans carry no `code.*` attributes.
//! Annotated functions the handler calls are its children. The server span ends
//! when the response body has been sent, a streamed body included.
//!
//! Outgoing calls get a client span, child of the current span, with the
//! trace's context injected into the request's headers: `http::ClientLayer` for
//! tower clients (a hyper client, a tonic `Channel`) and, with the feature
//! `reqwest`, `http::ClientMiddleware` for reqwest through reqwest-middleware:
//!
//! ```
//! # #[cfg(feature = "reqwest")] {
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(spanwright::http::ClientMiddleware::new())
//!     .build();
//! // client.get("http://storage.internal/objects/1").send().await
//! # let _ = client; }
//! ```
//!
//! The client span is named after the method (`GET`) and records
//! `http.request.method`, `url.full` (a user name and password replaced by
//! `REDACTED:REDACTED`, the values of secret query parameters such as `token`,
//! `key` or `Signature` by `REDACTED`; left out for a request that names no
//! server), `server.address`, `server.port` and `http.response.status_code`.
//! A status of 400 or more is its failure (status Error, `error.type` = the
//! code, no description: a 404 is the caller's problem, so it is the client
//! span that fails); a call that gets no response is status Error with an
//! `exception` event. The span is current while the request is sent. A span of
//! `ClientLayer` ends when the response body has been read or dropped; a span
//! of `ClientMiddleware` when the response's head has arrived (put it after a
//! retry middleware for one span, and one injected context, per attempt).
//!
//! ### gRPC
//!
//! The same layers serve tonic. On a gRPC request (content type
//! `application/grpc…`) `ServerLayer` makes an RPC server span and
//! `ClientLayer` an RPC client span, per the RPC semantic conventions: named
//! `{package.Service}/{Method}`, with `rpc.system = grpc`, `rpc.service`,
//! `rpc.method` and `rpc.grpc.status_code`, read from the `grpc-status` of the
//! response's head or of its trailers (so the spans end after the trailers). A
//! server span's status is Error for the codes the conventions count as the
//! server's failure (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`) and Unset for the others (a
//! `NOT_FOUND` is the caller's business); a client span's is Error for every
//! code but `OK`. `error.type` is the code's name, the description its
//! `grpc-message`; no `exception` event, as a status is an answer. A response
//! without any `grpc-status` is `UNKNOWN`, and a client that gets a plain HTTP
//! error from a proxy records the code gRPC maps it to (a 503 is `UNAVAILABLE`)
//! beside `http.response.status_code`; a response body dropped before its status
//! arrived ends the client span as cancelled. A path of another shape than
//! `/{package.Service}/{Method}` leaves the span named `gRPC`. The client
//! span records `server.address` and `server.port` when the request's URI has an
//! authority, as it does for a client made `with_origin`.
//!
//! ```
//! # #[cfg(feature = "http")] {
//! use spanwright::http::{ClientLayer, ServerLayer};
//! use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
//! use tower_layer::Layer as _;
//!
//! #[spanwright::span]
//! async fn ask(client: &mut HealthClient<spanwright::http::ClientService<tonic::transport::Channel>>)
//!     -> Result<i32, tonic::Status> {
//!     let request = HealthCheckRequest { service: String::new() };
//!     Ok(client.check(request).await?.into_inner().status)
//! }
//!
//! # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
//! let telemetry = spanwright::init().unwrap();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The server: a layer on tonic's server, any services behind it.
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let origin: http::Uri = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .layer(ServerLayer::new())
//!         .add_service(health)
//!         .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
//! );
//!
//! // The client: the layer around its channel.
//! let channel = tonic::transport::Endpoint::from(origin.clone()).connect().await.unwrap();
//! let mut client = HealthClient::with_origin(ClientLayer::new().layer(channel), origin);
//! // ask > grpc.health.v1.Health/Check (client) > grpc.health.v1.Health/Check (server)
//! assert_eq!(ask(&mut client).await.unwrap(), 1); // SERVING
//! # });
//! # drop(telemetry); }
//! ```
//!
//! The libraries a service is made of emit `tracing` spans. With the feature
//! `tracing`, `tracing_layer()` records them in spanwright's pipeline, nested
//! both ways with annotated functions:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "tracing"))] {
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! async fn create_job(body: String) -> String {
//!     body
//! }
//!
//! let subscriber = tracing_subscriber::registry()
//!     // A level filter first: without one, every TRACE span of every library
//!     // (hyper, h2, tonic, ...) becomes an exported span.
//!     .with(tracing_subscriber::filter::LevelFilter::INFO)
//!     .with(spanwright::tracing_layer())
//!     .with(spanwright::logs::SpanEvents::at(tracing::Level::WARN))
//!     .with(spanwright::logs::json_layer());
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! # unsafe { std::env::set_var("OTEL_TRACES_EXPORTER", "none") };
//! let telemetry = spanwright::init().unwrap();
//! let app: axum::Router = axum::Router::new()
//!     .route("/jobs", axum::routing::post(create_job))
//!     .layer(spanwright::http::ServerLayer::new());
//! // axum::serve(listener, app).await
//! # drop((app, telemetry)); }
//! ```
//!
//! Nothing spanwright's export does is recorded: its export threads run in
//! OpenTelemetry's suppressed-telemetry scope, and the bridge and the log layers
//! pass nothing emitted there, so the spans and events of the exporter's own
//! libraries (tonic, hyper, h2) never feed the pipeline, whatever the filter.
//!
//! Events are recorded on spans by `logs::SpanEvents` alone (at the level you
//! choose, on the innermost span, `tracing` or annotated). An `ERROR` event emitted
//! directly in a `tracing` span, as `#[instrument(err)]` emits for an `Err`, sets
//! that span's status to Error; a `tracing` span's status can also be set with its
//! `otel.status_code` field. The repository's `service` example is
//! all of this in one program: API, Redis Stream, worker, reqwest, storage.
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
//! ## For library authors
//!
//! A library annotates its functions; the application decides what is recorded
//! and where it goes, as with `tracing`.
//!
//! - **The dependency line.** `spanwright = { version = "0.1", default-features = false }`:
//!   the macros and the OpenTelemetry API, not the SDK; no exporter, no TLS,
//!   no gRPC or HTTP stack in your users' builds. Built alone, this line has
//!   nothing that installs telemetry ([`init`], [`Telemetry`] and [`testing`]
//!   belong to the `sdk` feature), so your functions run their bodies only; in an
//!   application that depends on spanwright with an exporter, Cargo builds one
//!   spanwright with both sets of features, and your spans are recorded there.
//!   Your own tests capture spans with the `sdk` feature as a dev-dependency:
//!
//!   ```toml
//!   [dev-dependencies]
//!   spanwright = { version = "0.1", default-features = false, features = ["sdk"] }
//!   ```
//!
//!   To make telemetry optional for your users, put it behind a feature of yours:
//!
//!   ```toml
//!   [dependencies]
//!   spanwright = { version = "0.1", default-features = false, optional = true }
//!
//!   [features]
//!   telemetry = ["dep:spanwright"]
//!   ```
//!
//!   and annotate with `#[cfg_attr(feature = "telemetry", spanwright::span(..))]`.
//! - **What your users pay.** Nothing at run time unless the application
//!   installs telemetry: one relaxed load per call (see "The disabled path").
//!   At build time, a little more than `tracing`: with the lean line a small
//!   library builds from clean in about 1.3 times `tracing`'s time (15 crates
//!   against 10; BENCHMARKS.md in the repository has the figures), a
//!   cost paid once per build of the application, not per annotated function.
//! - **Scope and filtering.** Your spans carry your package's name and version
//!   as their instrumentation scope; an application turns them off or on by
//!   crate or module path with `SPANWRIGHT_SPANS=your_lib=off,your_lib::upload=on`.
//! - **Applications with their own OpenTelemetry set-up** hand their provider
//!   over (`Telemetry::builder().tracer_provider(provider)`), and your spans go
//!   through it, nested under theirs.
//! - **Versions.** One dependency graph holds one spanwright runtime (Cargo's
//!   `links` key, see "Getting started"): depend on the version range your users
//!   can share, and move to a new major version with them. The crates need Rust
//!   1.88 and are written in edition 2024; annotated code of edition 2021 works.
//! - **spanwright or `tracing`?** Annotate with spanwright when your users want
//!   OpenTelemetry spans (errors recorded, W3C propagation, jobs); keep `tracing`
//!   when they mostly want logs. Both meet in one trace: `tracing_layer()`
//!   records `tracing` spans in spanwright's pipeline.
//!
//! ```
//! /// A library function: its span is recorded when the application has
//! /// installed telemetry, under the application's current span.
//! #[spanwright::span(name = "storage.get", kind = client, attrs(key))]
//! pub fn get(key: &str) -> Option<Vec<u8>> {
//!     (!key.is_empty()).then(Vec::new)
//! }
//!
//! // Without telemetry: the plain call.
//! assert!(get("a").is_some());
//! // In a test of the library: the spans it makes.
//! let (_, spans) = spanwright::testing::capture(|| get("a"));
//! assert_eq!(spans[0].name, "storage.get");
//! ```
//!
//! ## How the crate is laid out
//!
//! The runtime is grouped by role, one folder each:
//!
//! - `span/`: the hot path every annotated call runs through: the enabled check,
//!   the call site, span start, the recording that ends the span, the sync and
//!   async runners, return-value and attribute-value conversion, the installed
//!   tracer and the sampler prediction, span start into a record
//!   (`start_record`) or, for a provider handed over, through the SDK
//!   (`start_sdk`), and panic capture.
//! - `context/`: the current span ([`current`]) and trace context across process
//!   boundaries ([`inject`], [`extract`]).
//! - `setup/`: [`init`], [`Telemetry`] and its builder, and the reading of each
//!   `OTEL_*` variable (`batch_settings`, `otlp_settings`, ...); [`InitError`].
//! - `export/`: the choice of exporter, the console exporter and its waterfall
//!   renderer, the OTLP transports (`otlp_grpc`, `otlp_http`), export counts and
//!   diagnostics, bounded flushes and waits.
//! - `pipeline/`: spanwright's own span pipeline: the `record` of a span (its
//!   `attribute`s held in place, short strings included), the
//!   `live` handle the context holds, `ids` and `clock`, the `sink` an ended
//!   record goes to, the bounded export `queue` and its thread, the
//!   `destination` it exports to, the `processor` that queues the SDK's own
//!   spans, the local traces `held` by sampling that keeps errors, the value
//!   length limit (`truncate`), and the OTLP `encoder`, which writes the
//!   request's bytes straight from the records (with the protobuf `wire`
//!   primitives the metrics encoder shares).
//! - `metrics/`: metrics beside traces (feature `metrics`): the `instruments`,
//!   what a call's end `record`s, the `meter` and its `aggregate`s (sums,
//!   histograms with exemplars), the `export` thread and the OTLP metrics
//!   `encoder`; the settings are `setup/metrics_settings.rs`.
//! - `http/`: the server and client layers and the reqwest middleware (features
//!   `http`, `reqwest`); `tracing_layer.rs` and `logs.rs`: the `tracing` bridge
//!   and log correlation (feature `tracing`).
//!
//! Code the macros generate reaches the runtime only through one hidden module,
//! so the runtime's layout can change without breaking compiled macro output.
//!
//! ## The disabled path
//!
//! Until [`init`] installs telemetry, an annotated function does one relaxed
//! atomic load ([`enabled`]) and a branch, then runs its body: no clock, no
//! allocation, no attribute evaluation, no thread-local access, no context
//! clone: an async function's future holds one null pointer, its body makes one
//! more relaxed load at its first poll, and a pending poll one more (a future
//! made while tracing was off may still start its span late). With the cargo
//! feature `off`, the macros emit the function unchanged.
#![doc(html_root_url = "https://docs.rs/spanwright/0.1.0")]
#![forbid(unsafe_code)]
// The crate docs describe the whole crate (docs.rs builds it with every
// feature); the lean build's copy names `init`, `testing` and the rest of the
// `sdk` feature without having them.
#![cfg_attr(not(feature = "sdk"), allow(rustdoc::broken_intra_doc_links))]

extern crate self as spanwright;

// Without the `sdk` feature (a library's lean build) nothing installs telemetry:
// what only an installation reaches in these two (the panic hook, the span
// filter, span end, setting the propagator) is compiled but never called.
#[cfg_attr(not(feature = "sdk"), allow(dead_code))]
mod context;
#[cfg(feature = "sdk")]
mod export;
#[cfg(feature = "metrics")]
mod metrics;
mod pipeline;
#[cfg(feature = "sdk")]
mod setup;
#[cfg_attr(not(feature = "sdk"), allow(dead_code))]
mod span;

pub use context::carrier;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "sdk")]
pub mod testing;

#[cfg(feature = "tracing")]
pub mod logs;
#[cfg(feature = "tracing")]
mod tracing_layer;
#[cfg(feature = "tracing")]
pub use tracing_layer::tracing_layer;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "sdk")]
pub use crate::{
    export::diagnostic::{Diagnostic, DiagnosticKind},
    export::stats::ExportStats,
    setup::error::InitError,
    setup::telemetry::{Telemetry, TelemetryBuilder, init},
};
pub use context::current::{CurrentSpan, current};
pub use context::propagation::{extract, inject};
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub use setup::otlp_settings::OtlpProtocol;
pub use span::switch::enabled;
pub use span::value::{ArrayElement, AttrValue};

/// Instruments a function with an OpenTelemetry span: every call starts a span,
/// makes it the current context while the body runs, records the attributes you
/// name and the outcome, and ends it.
///
/// Works on free functions and methods (`self`, `&self`, `&mut self`,
/// `self: Pin<&mut Self>`), generic functions, `impl Trait` and destructured
/// parameters, `async fn`, functions returning `impl Future` or
/// `Pin<Box<dyn Future>>` whose body ends in an async block (the span covers the
/// block's execution, not the future's construction), `unsafe fn`, `extern "C"
/// fn`, and functions written by `macro_rules!`. Doc comments and other
/// attributes are kept; `#[track_caller]` keeps reporting the caller.
///
/// ```
/// use spanwright::testing::{capture, SpanDataExt};
/// use spanwright::opentelemetry::Value;
///
/// #[spanwright::span]
/// fn resize(width: u32) -> u32 { width / 2 }
///
/// let (half, spans) = capture(|| resize(640));
/// assert_eq!(half, 320);
/// assert_eq!(spans[0].name, "resize");
/// // Nothing you did not name is recorded: arguments are not attributes by default.
/// assert_eq!(spans[0].attr("width"), None);
/// ```
///
/// # Options
///
/// All optional, in any order, each at most once. A mistake in them is a compile
/// error at the offending token that says what would be right.
///
/// ## `name = "..."`
///
/// The span name (default: the function's name). `{param}` fills in a
/// parameter's `Display`; the sampler sees the template as written.
///
/// ```
/// #[spanwright::span(name = "job.{kind}")]
/// fn run(kind: &str) {}
///
/// let ((), spans) = spanwright::testing::capture(|| run("resize"));
/// assert_eq!(spans[0].name, "job.resize");
/// ```
///
/// ## `kind = client`
///
/// `internal` (default), `server`, `client`, `producer` or `consumer`.
///
/// ```
/// use spanwright::opentelemetry::trace::SpanKind;
///
/// #[spanwright::span(kind = client)]
/// fn call_storage() {}
///
/// let ((), spans) = spanwright::testing::capture(call_storage);
/// assert_eq!(spans[0].span_kind, SpanKind::Client);
/// ```
///
/// ## `attrs(key = expr, ...)`
///
/// Attributes set as the span starts. Keys are dotted lower-case identifiers
/// (`job.id`) or string literals (`"model.name"`). `key = expr` records the
/// value typed (integers, floats, bool, strings, `Option` of those, where `None`
/// records nothing, and slices or `Vec`s of those); `%expr` records its `Display`,
/// `?expr` its `Debug`; a bare `key` records the parameter of that name. A value
/// of any other type is a compile error that says to use `%` or `?`. The
/// expressions run only when the span is recorded: never when tracing is off,
/// never for a span the sampler drops.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// #[derive(Debug)]
/// struct Region(&'static str);
///
/// #[spanwright::span(attrs(bucket, object.size = size, "model.name" = %model, ?region, missing = None::<u8>))]
/// fn upload(bucket: &str, size: u64, model: &str, region: Region) {}
///
/// let ((), spans) = spanwright::testing::capture(|| upload("models", 42, "resnet", Region("eu")));
/// let span = &spans[0];
/// assert_eq!(span.attr("bucket"), Some(&Value::from("models")));
/// assert_eq!(span.attr("object.size"), Some(&Value::I64(42)));
/// assert_eq!(span.attr("model.name"), Some(&Value::from("resnet")));
/// assert_eq!(span.attr("region"), Some(&Value::from("Region(\"eu\")")));
/// assert_eq!(span.attr("missing"), None);
/// ```
///
/// A parameter can also be marked where it is declared: `#[attr]` records it
/// under its own name, `#[attr("key")]` under the given key (the macro removes
/// the annotation).
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// #[spanwright::span]
/// fn infer(#[attr] batch: u32, #[attr("model.name")] model: &str) {}
///
/// let ((), spans) = spanwright::testing::capture(|| infer(8, "resnet"));
/// assert_eq!(spans[0].attr("batch"), Some(&Value::I64(8)));
/// assert_eq!(spans[0].attr("model.name"), Some(&Value::from("resnet")));
/// ```
///
/// ## `ret`
///
/// Records the return value (for a `Result`, the `Ok` value) as `return.value`:
/// typed when it is an attribute value type, else its `Debug`.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// #[spanwright::span(ret)]
/// fn count() -> Result<u32, String> { Ok(3) }
///
/// let (_, spans) = spanwright::testing::capture(count);
/// assert_eq!(spans[0].attr("return.value"), Some(&Value::I64(3)));
/// ```
///
/// ## `status_ok`
///
/// Sets status Ok when the function succeeds (the default leaves it Unset, as the
/// OpenTelemetry specification asks of instrumentation).
///
/// ```
/// use spanwright::opentelemetry::trace::Status;
///
/// #[spanwright::span(status_ok)]
/// fn check() -> Result<(), String> { Ok(()) }
///
/// let (_, spans) = spanwright::testing::capture(check);
/// assert_eq!(spans[0].status, Status::Ok);
/// ```
///
/// ## `metrics`
///
/// Counts and times every call (sampled or not, feature `metrics`):
/// `function.calls` by `result` (`ok`, `error` for an `Err` or a panic) and
/// `function.calls.duration`, with the function's name and module, as the
/// autometrics specification names them (see the crate docs, "Metrics"). On a
/// `#[traced_job]`, which records `job.duration` anyway, it adds these two.
///
/// ```
/// #[spanwright::span(metrics)]
/// fn charge(cents: u64) -> Result<u64, String> {
///     if cents == 0 { Err("nothing to charge".into()) } else { Ok(cents) }
/// }
///
/// assert!(charge(0).is_err()); // nothing installed: the plain call
/// ```
///
/// ## `parent = carrier`
///
/// Continues the trace whose W3C `traceparent` is in `carrier`: a
/// `HashMap<String, String>`, any type implementing OpenTelemetry's `Extractor`,
/// or `http::HeaderMap` (feature `http`). An absent or invalid header starts a
/// new trace. See [`carrier`] and the crate docs on propagation.
///
/// ```
/// use std::collections::HashMap;
///
/// #[spanwright::span(kind = server, parent = headers)]
/// fn handle(headers: &HashMap<String, String>) {}
///
/// let headers = HashMap::from([(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// )]);
/// let ((), spans) = spanwright::testing::capture(|| handle(&headers));
/// assert_eq!(spans[0].span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(spans[0].parent_span_id.to_string(), "00f067aa0ba902b7");
/// ```
///
/// ## `root`
///
/// Always starts a new trace, whatever is current.
///
/// ```
/// #[spanwright::span(root)]
/// fn nightly_cleanup() {}
///
/// #[spanwright::span]
/// fn scheduler() { nightly_cleanup() }
///
/// let ((), spans) = spanwright::testing::capture(scheduler);
/// let cleanup = spans.named("nightly_cleanup");
/// assert_ne!(cleanup.span_context.trace_id(), spans.named("scheduler").span_context.trace_id());
/// ```
///
/// ## `link = carrier`, `links(a, b, ...)`
///
/// Adds a span link to the context found in each carrier (one that holds none
/// adds nothing): how a consumer of a batch relates to each producer.
///
/// ```
/// use std::collections::HashMap;
///
/// #[spanwright::span(kind = consumer, links(first, second))]
/// fn consume(first: &HashMap<String, String>, second: &HashMap<String, String>) {}
///
/// let message = |span: &str| HashMap::from([(
///     "traceparent".to_string(),
///     format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{span}-01"),
/// )]);
/// let ((), spans) = spanwright::testing::capture(|| consume(&message("00f067aa0ba902b7"), &message("00f067aa0ba902b8")));
/// assert_eq!(spans[0].links.len(), 2);
/// ```
///
/// ## `allow_sensitive`
///
/// Keys whose dot-separated parts name secrets (`password`, `passwd`, `secret`,
/// `token`, `api_key`, `apikey`, `authorization`, `cookie`, `credentials`,
/// `private_key`) are refused at compile time; `allow_sensitive` says it is
/// deliberate.
///
/// ```
/// #[spanwright::span(allow_sensitive, attrs(token.kind = kind))]
/// fn refresh(kind: &str) {}
/// # let _ = spanwright::testing::capture(|| refresh("bearer"));
/// ```
///
/// ## `crate = path`
///
/// Where spanwright is, when it is reached through a re-export (a facade crate).
///
/// ```
/// mod facade { pub use spanwright; }
///
/// #[spanwright::span(crate = facade::spanwright)]
/// fn through_facade() {}
///
/// let ((), spans) = spanwright::testing::capture(through_facade);
/// assert_eq!(spans.len(), 1);
/// ```
///
/// # What is recorded without asking
///
/// - `code.function.name` (module path and function), `code.file.path` and
///   `code.line.number` on every span.
/// - The instrumentation scope: the package that holds the function, by the
///   name and version Cargo gives it (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION`
///   where the macro expands), so that a backend or a filter can tell a
///   library's spans from the application's. The layers' spans (`http`) and the
///   `tracing` bridge's have the scope `spanwright`.
/// - A returned `Err(e)`: status Error with `e`'s `Display` (its `Debug` when it
///   has no `Display`) as description, `error.type` = the error's type name, and
///   an `exception` event with `exception.type` and `exception.message`.
/// - A panic: status Error, `error.type = panic`, an `exception` event with the
///   panic's message and location; the panic then goes on unwinding, untouched.
/// - An async function's future dropped before completing: `cancelled = true`,
///   status left Unset.
/// - Anything else: status Unset (Ok with `status_ok`).
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::{trace::Status, Value};
///
/// #[spanwright::span]
/// fn parse(text: &str) -> Result<u32, std::num::ParseIntError> { text.parse() }
///
/// let (_, spans) = spanwright::testing::capture(|| parse("x"));
/// let span = &spans[0];
/// assert_eq!(span.status, Status::error("invalid digit found in string"));
/// assert_eq!(span.attr("error.type"), Some(&Value::from("core::num::error::ParseIntError")));
/// assert_eq!(span.events[0].name, "exception");
/// assert!(span.attr("code.line.number").is_some());
/// ```
///
/// While the body runs (for an async function: during each poll of its future,
/// and only then) the span is [`opentelemetry::Context::current`], so
/// hand-written OpenTelemetry code and [`current`] see it. An async function's
/// span takes its parent where the function is called, so a spawned call stays
/// in its caller's trace (see the crate docs, "Async functions, spawned tasks
/// and cancellation"); `opentelemetry::trace::FutureExt::with_current_context`
/// carries the current span into other spawned work.
pub use spanwright_macros::span;

/// Instruments a job entrypoint: the function that handles one queue message,
/// one scheduled run, or a batch job's `main`. Everything [`span`] takes, with
/// other defaults: kind `consumer`, a new trace unless `parent` is given (a job
/// is the root of its own work), and on the span's end `job.status`
/// (`completed`, `failed` for a returned `Err`, `panicked`, `cancelled`) and
/// `job.duration_ms`, which are kept even when other attributes reach the
/// attribute count limit.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::{trace::SpanKind, Value};
///
/// #[spanwright::traced_job]
/// fn nightly() -> Result<(), String> { Err("bucket is empty".into()) }
///
/// let (_, spans) = spanwright::testing::capture(nightly);
/// assert_eq!(spans[0].span_kind, SpanKind::Consumer);
/// assert_eq!(spans[0].attr("job.status"), Some(&Value::from("failed")));
/// assert!(matches!(spans[0].attr("job.duration_ms"), Some(Value::F64(_))));
/// ```
///
/// # Options of jobs
///
/// ## `id = expr`, `attempt = expr`
///
/// The attributes `job.id` and `job.attempt`.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// struct Message { id: u64, delivery: u32 }
///
/// #[spanwright::traced_job(id = message.id, attempt = message.delivery)]
/// fn handle(message: &Message) {}
///
/// let ((), spans) = spanwright::testing::capture(|| handle(&Message { id: 7, delivery: 2 }));
/// assert_eq!(spans[0].attr("job.id"), Some(&Value::I64(7)));
/// assert_eq!(spans[0].attr("job.attempt"), Some(&Value::I64(2)));
/// ```
///
/// ## `parent = carrier`, `link = carrier`
///
/// As for [`span`]: continue the producer's trace from the message's carrier
/// (the OpenTelemetry messaging conventions allow this for single messages), or
/// link to it (their default for batches).
///
/// ```
/// use std::collections::HashMap;
///
/// #[spanwright::traced_job(parent = headers)]
/// fn process(headers: &HashMap<String, String>) {}
///
/// let headers = HashMap::from([(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// )]);
/// let ((), spans) = spanwright::testing::capture(|| process(&headers));
/// assert_eq!(spans[0].parent_span_id.to_string(), "00f067aa0ba902b7");
/// ```
///
/// ## `flush`
///
/// After the job ends, exports its spans (and with the `metrics` feature the
/// metrics recorded so far, its `job.duration` included) before returning,
/// waiting at most the flush timeout (1 s, [`TelemetryBuilder::flush_timeout`]),
/// so they leave the process even if it exits right after. An async job awaits the flush without
/// blocking its executor's thread. With telemetry off it costs nothing.
///
/// ```
/// #[spanwright::traced_job(flush)]
/// fn one_shot() {}
///
/// one_shot(); // nothing installed: returns at once
/// ```
///
/// ## `init`
///
/// On `main` only: calls [`init`] before the span starts and shuts telemetry
/// down (flushing) after it ends, also when `main` returns an `Err`. An init
/// failure is one line on stderr and the job still runs. Needs the `sdk`
/// feature (on by default), which holds [`init`].
///
/// ```no_run
/// #[spanwright::traced_job(init)]
/// fn main() -> Result<(), String> {
///     // ... the batch job ...
///     Ok(())
/// }
/// ```
pub use spanwright_macros::traced_job;

/// The OpenTelemetry API crate spanwright is built on.
pub use opentelemetry;
/// The OpenTelemetry SDK crate spanwright is built on.
#[cfg(feature = "sdk")]
pub use opentelemetry_sdk;

/// The README's example, compiled with the doctests so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
