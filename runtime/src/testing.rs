//! Span capture for tests: every span created inside [`capture`] is recorded,
//! even when [`crate::init`] was never called, and only those spans.
//!
//! Each capture records into a list of its own, carried in the OpenTelemetry
//! context, so tests running at the same time on different threads never see
//! each other's spans. An annotated async function called inside a capture stays
//! in it wherever its future is polled (a spawned task included); other work
//! moved to another task or thread stays in the capture when the context goes
//! with it
//! ([`FutureExt::with_current_context`](opentelemetry::trace::FutureExt::with_current_context)).

use crate::pipeline::sink::Sink;
use crate::span::sampling::SamplerKind;
use crate::span::switch::Recorder;
use crate::span::tracer::{CaptureTracer, Own};
use opentelemetry::trace::{FutureExt as _, SpanId};
use opentelemetry::{Context, Key, Value};
use opentelemetry_sdk::trace::{Sampler, ShouldSample, SpanData, SpanLimits};
use std::fmt::Write as _;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// Runs `f` and returns what it returned with every span it created.
///
/// ```
/// #[spanwright::span(attrs(order.id = id))]
/// fn ship(id: u64) {}
///
/// let ((), spans) = spanwright::testing::capture(|| ship(42));
/// assert_eq!(spans.len(), 1);
/// assert_eq!(spans[0].name, "ship");
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Captured) {
    Capture::default().run(f)
}

/// Awaits `future` and returns its output with every span it created.
///
/// ```
/// #[spanwright::span]
/// async fn fetch() -> u8 { 7 }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (value, spans) = spanwright::testing::capture_async(fetch()).await;
/// assert_eq!(value, 7);
/// assert_eq!(spans.named("fetch").name, "fetch");
/// # });
/// ```
pub async fn capture_async<F: Future>(future: F) -> (F::Output, Captured) {
    Capture::default().run_async(future).await
}

/// A capture with settings: [`capture`] is `Capture::default().run(f)`.
///
/// ```
/// use spanwright::opentelemetry_sdk::trace::Sampler;
///
/// #[spanwright::span]
/// fn dropped() {}
///
/// let ((), spans) = spanwright::testing::Capture::with_sampler(Sampler::AlwaysOff).run(dropped);
/// assert!(spans.is_empty());
/// ```
#[derive(Debug)]
pub struct Capture {
    sampler: Box<dyn ShouldSample>,
    kind: SamplerKind,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            sampler: Box::new(Sampler::AlwaysOn),
            kind: SamplerKind::AlwaysOn,
        }
    }
}

impl Capture {
    /// A capture whose spans go through `sampler` (default: always on).
    ///
    /// ```
    /// use spanwright::opentelemetry_sdk::trace::Sampler;
    /// #[spanwright::span]
    /// fn sampled_out() {}
    /// let ((), spans) = spanwright::testing::Capture::with_sampler(Sampler::AlwaysOff).run(sampled_out);
    /// assert!(spans.is_empty());
    /// ```
    pub fn with_sampler(sampler: impl ShouldSample + 'static) -> Self {
        // A sampler given here is opaque: its decisions are not predicted.
        Capture {
            sampler: Box::new(sampler),
            kind: SamplerKind::Other,
        }
    }

    /// Runs `f` inside the capture.
    ///
    /// ```
    /// #[spanwright::span]
    /// fn work() -> u8 { 1 }
    /// let (value, spans) = spanwright::testing::Capture::default().run(work);
    /// assert_eq!((value, spans.len()), (1, 1));
    /// ```
    pub fn run<R>(self, f: impl FnOnce() -> R) -> (R, Captured) {
        let session = Session::start(self.sampler, self.kind);
        let value = {
            let _current = session.context.clone().attach();
            f()
        };
        (value, session.finish())
    }

    /// Awaits `future` inside the capture.
    ///
    /// ```
    /// #[spanwright::span]
    /// async fn work() -> u8 { 1 }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (value, spans) = spanwright::testing::Capture::default().run_async(work()).await;
    /// assert_eq!((value, spans.len()), (1, 1));
    /// # });
    /// ```
    pub async fn run_async<F: Future>(self, future: F) -> (F::Output, Captured) {
        let session = Session::start(self.sampler, self.kind);
        let value = future.with_context(session.context.clone()).await;
        (value, session.finish())
    }
}

struct Session {
    spans: Arc<Mutex<Vec<SpanData>>>,
    context: Context,
    _recorder: Recorder,
}

impl Session {
    fn start(sampler: Box<dyn ShouldSample>, kind: SamplerKind) -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        // Starts from an empty context: spans of an enclosing capture or span stay out.
        let context = Context::new().with_value(CaptureTracer {
            own: Own {
                sink: Sink::Capture(Arc::clone(&spans)),
                holding: None,
                limits: SpanLimits::default(),
                sampler,
            },
            sampler: kind,
        });
        Session {
            spans,
            context,
            _recorder: Recorder::register(),
        }
    }

    fn finish(self) -> Captured {
        let spans = std::mem::take(&mut *self.spans.lock().unwrap_or_else(|p| p.into_inner()));
        Captured { spans }
    }
}

/// The spans a capture recorded, in the order they ended.
///
/// ```
/// #[spanwright::span]
/// fn leaf() {}
/// #[spanwright::span]
/// fn root() { leaf(); leaf(); }
/// let ((), spans) = spanwright::testing::capture(root);
/// assert_eq!(spans.len(), 3);
/// assert_eq!(spans.all_named("leaf").count(), 2);
/// assert!(spans.tree().contains("root"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Captured {
    spans: Vec<SpanData>,
}

impl Deref for Captured {
    type Target = [SpanData];

    fn deref(&self) -> &[SpanData] {
        &self.spans
    }
}

impl Captured {
    /// The one span named `name`. Panics, listing the names there are, when there is
    /// no such span or more than one.
    ///
    /// ```
    /// #[spanwright::span]
    /// fn work() {}
    /// let ((), spans) = spanwright::testing::capture(work);
    /// assert_eq!(spans.named("work").name, "work");
    /// ```
    pub fn named(&self, name: &str) -> &SpanData {
        let mut matching = self.spans.iter().filter(|s| s.name == name);
        match (matching.next(), matching.next()) {
            (Some(span), None) => span,
            (first, _) => {
                let names: Vec<&str> = self.spans.iter().map(|s| s.name.as_ref()).collect();
                let problem = if first.is_some() {
                    "more than one span"
                } else {
                    "no span"
                };
                panic!("{problem} named {name:?}; captured spans: {names:?}")
            }
        }
    }

    /// Every span named `name`, in the order they ended.
    ///
    /// ```
    /// #[spanwright::span]
    /// fn step() {}
    /// let ((), spans) = spanwright::testing::capture(|| { step(); step(); });
    /// assert_eq!(spans.all_named("step").count(), 2);
    /// ```
    pub fn all_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SpanData> + 'a {
        self.spans.iter().filter(move |s| s.name == name)
    }

    /// The spans as an indented tree (children under parents, by start time), one
    /// line each: name, kind, status.
    ///
    /// ```
    /// #[spanwright::span]
    /// fn outer() { inner() }
    /// #[spanwright::span(kind = client)]
    /// fn inner() {}
    ///
    /// let ((), spans) = spanwright::testing::capture(outer);
    /// assert_eq!(spans.tree(), "outer (internal)\n  inner (client)\n");
    /// ```
    pub fn tree(&self) -> String {
        let ids: Vec<SpanId> = self
            .spans
            .iter()
            .map(|s| s.span_context.span_id())
            .collect();
        let mut roots: Vec<&SpanData> = self
            .spans
            .iter()
            .filter(|s| !ids.contains(&s.parent_span_id))
            .collect();
        roots.sort_by_key(|s| s.start_time);
        let mut out = String::new();
        for root in roots {
            self.draw(root, 0, &mut out);
        }
        out
    }

    fn draw(&self, span: &SpanData, depth: usize, out: &mut String) {
        let kind = format!("{:?}", span.span_kind).to_lowercase();
        let _ = write!(
            out,
            "{:indent$}{} ({kind})",
            "",
            span.name,
            indent = depth * 2
        );
        match &span.status {
            opentelemetry::trace::Status::Unset => {}
            opentelemetry::trace::Status::Ok => out.push_str(" ok"),
            opentelemetry::trace::Status::Error { description } => {
                let _ = write!(out, " error: {description}");
            }
        }
        out.push('\n');
        let id = span.span_context.span_id();
        let mut children: Vec<&SpanData> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id == id)
            .collect();
        children.sort_by_key(|s| s.start_time);
        for child in children {
            self.draw(child, depth + 1, out);
        }
    }
}

/// Reading attributes and events of a captured span.
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::Value;
///
/// #[spanwright::span(attrs(n))]
/// fn count(n: i64) {}
///
/// let ((), spans) = spanwright::testing::capture(|| count(3));
/// assert_eq!(spans.named("count").attr("n"), Some(&Value::I64(3)));
/// ```
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// #[spanwright::span(attrs(n))]
/// fn work(n: i64) {}
/// let ((), spans) = spanwright::testing::capture(|| work(4));
/// assert_eq!(spans[0].attr("n"), Some(&spanwright::opentelemetry::Value::I64(4)));
/// ```
pub trait SpanDataExt {
    /// The value of attribute `key`.
    ///
    /// ```
    /// use spanwright::testing::SpanDataExt;
    /// #[spanwright::span(attrs(n))]
    /// fn work(n: i64) {}
    /// let ((), spans) = spanwright::testing::capture(|| work(4));
    /// assert_eq!(spans[0].attr("n"), Some(&spanwright::opentelemetry::Value::I64(4)));
    /// assert_eq!(spans[0].attr("absent"), None);
    /// ```
    fn attr(&self, key: &str) -> Option<&Value>;
    /// The first event named `name`.
    fn event(&self, name: &str) -> Option<&opentelemetry::trace::Event>;
}

impl SpanDataExt for SpanData {
    fn attr(&self, key: &str) -> Option<&Value> {
        find(&self.attributes, key)
    }

    fn event(&self, name: &str) -> Option<&opentelemetry::trace::Event> {
        self.events.iter().find(|e| e.name == name)
    }
}

impl SpanDataExt for opentelemetry::trace::Event {
    fn attr(&self, key: &str) -> Option<&Value> {
        find(&self.attributes, key)
    }

    fn event(&self, _name: &str) -> Option<&opentelemetry::trace::Event> {
        None
    }
}

fn find<'a>(attributes: &'a [opentelemetry::KeyValue], key: &str) -> Option<&'a Value> {
    let key = Key::from(key.to_owned());
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}
