//! spanwright's own lines about itself (spans dropped, exports failed, the
//! shutdown summary, a failed start), routed to the service's logging with
//! [`crate::TelemetryBuilder::on_diagnostic`], or by default to stderr.
//!
//! Writing to stderr never panics and never blocks the caller: the lines go
//! through a small bounded queue to a writer thread (started at the first
//! line), which ignores a closed stderr or a broken pipe; when the queue is
//! full (stderr is a pipe nobody reads), a line is dropped rather than wait.

use crate::export::wait::wait_while_until;
use std::fmt;
use std::io::Write as _;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One line spanwright reports about itself, for
/// [`TelemetryBuilder::on_diagnostic`](crate::TelemetryBuilder::on_diagnostic).
/// Its `Display` is the line (names header keys and endpoints without user
/// info, never a header value).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&lines);
/// let telemetry = spanwright::Telemetry::builder()
///     .no_export()
///     .on_diagnostic(move |diagnostic| sink.lock().unwrap().push(diagnostic.to_string()))
///     .install()
///     .unwrap();
/// drop(telemetry); // nothing was lost: no summary
/// assert!(lines.lock().unwrap().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    kind: DiagnosticKind,
    message: String,
}

/// What a [`Diagnostic`] is about.
///
/// ```
/// use spanwright::DiagnosticKind;
/// assert_ne!(DiagnosticKind::SpansDropped, DiagnosticKind::ExportFailed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The export queue was full: spans were dropped.
    SpansDropped,
    /// An export failed: the spans it carried are lost.
    ExportFailed,
    /// At shutdown: what was not exported, cause by cause.
    Summary,
    /// Telemetry could not be started (`#[traced_job(init)]`).
    InitFailed,
}

impl Diagnostic {
    pub(crate) fn new(kind: DiagnosticKind, message: String) -> Self {
        Diagnostic { kind, message }
    }

    /// What the line is about.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # let kinds = Arc::new(Mutex::new(Vec::new()));
    /// # let sink = Arc::clone(&kinds);
    /// let telemetry = spanwright::Telemetry::builder()
    ///     .no_export()
    ///     .on_diagnostic(move |d| sink.lock().unwrap().push(d.kind()))
    ///     .install()
    ///     .unwrap();
    /// # drop(telemetry);
    /// ```
    pub fn kind(&self) -> DiagnosticKind {
        self.kind
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where an installation's diagnostics go.
#[derive(Clone)]
pub(crate) struct Sink(Arc<dyn Fn(&Diagnostic) + Send + Sync>);

impl Sink {
    /// The service's own function. It is called outside OpenTelemetry's
    /// suppressed-telemetry scope (the export threads run in it), so that what it
    /// logs through `tracing` is not filtered out as the exporter's own; a panic
    /// in it is contained (it may run where a span ends).
    pub(crate) fn to(f: impl Fn(&Diagnostic) + Send + Sync + 'static) -> Self {
        Sink(Arc::new(move |diagnostic: &Diagnostic| {
            let _unsuppressed = std::panic::catch_unwind(|| opentelemetry::Context::new().attach());
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(diagnostic)));
        }))
    }

    fn to_stderr() -> Self {
        Sink(Arc::new(|diagnostic: &Diagnostic| {
            Stderr::get().send(diagnostic.to_string())
        }))
    }

    /// The default: stderr, through the writer thread.
    pub(crate) fn stderr() -> Self {
        Sink::to_stderr()
    }

    /// This sink, with every occurrence of `secrets` (header values, user info)
    /// blanked out of the lines first: an exporter's error text may quote them.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) fn redacting(self, secrets: Vec<String>) -> Self {
        if secrets.is_empty() {
            return self;
        }
        Sink(Arc::new(move |diagnostic: &Diagnostic| {
            let message = redact(&diagnostic.message, &secrets);
            (self.0)(&Diagnostic::new(diagnostic.kind, message));
        }))
    }

    pub(crate) fn report(&self, kind: DiagnosticKind, message: String) {
        (self.0)(&Diagnostic::new(kind, message));
    }
}

/// `text` with every occurrence of `secrets` blanked out.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        text = text.replace(secret.as_str(), "<redacted>");
    }
    text
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sink")
    }
}

/// Waits (at most `bound`) until every line sent to stderr so far is written:
/// at shutdown, so that the summary is out before the process exits.
pub(crate) fn drain_stderr(bound: Duration) {
    if let Some(stderr) = STDERR.get() {
        stderr.drain(bound);
    }
}

/// Lines that may wait for the writer; more are dropped.
const QUEUE: usize = 64;

static STDERR: OnceLock<Stderr> = OnceLock::new();

struct Stderr {
    lines: Option<SyncSender<String>>,
    /// Lines sent and lines written (or given up on), for `drain`.
    progress: Arc<(Mutex<(u64, u64)>, Condvar)>,
}

impl Stderr {
    fn get() -> &'static Stderr {
        STDERR.get_or_init(|| {
            let (lines, receiver) = sync_channel(QUEUE);
            let progress = Arc::new((Mutex::new((0, 0)), Condvar::new()));
            let written = Arc::clone(&progress);
            let started = std::thread::Builder::new()
                .name("spanwright-stderr".into())
                .spawn(move || write_lines(&receiver, &written))
                .is_ok();
            Stderr {
                lines: started.then_some(lines),
                progress,
            }
        })
    }

    fn send(&self, line: String) {
        let Some(lines) = &self.lines else { return };
        let (counts, _) = &*self.progress;
        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
        if lines.try_send(line).is_ok() {
            counts.0 += 1;
        }
    }

    fn drain(&self, bound: Duration) {
        let deadline = Instant::now().checked_add(bound);
        let (counts, written) = &*self.progress;
        let counts = counts.lock().unwrap_or_else(|p| p.into_inner());
        drop(wait_while_until(written, counts, deadline, |counts| {
            counts.1 < counts.0
        }));
    }
}

fn write_lines(receiver: &Receiver<String>, progress: &(Mutex<(u64, u64)>, Condvar)) {
    for line in receiver {
        // A closed stderr or a broken pipe: the line is lost, nothing else.
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
        let _ = stderr.flush();
        drop(stderr);
        let (counts, written) = progress;
        counts.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
        written.notify_all();
    }
}
