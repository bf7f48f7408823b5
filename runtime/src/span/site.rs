//! What the macro knows statically about one annotated function: one `static`
//! per call site, read by span start and span end.

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};

/// A job's outcome, set at the end of a job's span; a record keeps it apart
/// and writes it first when exported.
pub(crate) const JOB_STATUS: Key = Key::from_static_str("job.status");

/// The source location's attribute names.
pub(crate) const CODE_FUNCTION: &str = "code.function.name";
pub(crate) const CODE_FILE: &str = "code.file.path";
pub(crate) const CODE_LINE: &str = "code.line.number";

/// What the macro knows statically about one annotated function.
#[derive(Debug)]
pub struct Site {
    /// The span name, or the name template before its parameters are filled in.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
    /// `code.function.name`: module path and function name.
    pub function: &'static str,
    /// `code.file.path`.
    pub file: &'static str,
    /// `code.line.number`.
    pub line: u32,
    /// How many attributes the macro may add, to size the attribute list once.
    pub attrs: usize,
    /// Set status Ok when the function succeeds.
    pub status_ok: bool,
    /// A `#[traced_job]`: record `job.status` and `job.duration_ms` at the end.
    pub job: bool,
    /// `#[span(metrics)]`: record `function.calls` and `function.calls.duration`.
    pub metrics: bool,
    /// Record `code.function.name`, `code.file.path` and `code.line.number`
    /// (annotated functions); the layers' spans have no code of the user's to point at.
    pub code: bool,
    /// The instrumentation scope: the package that holds the function (Cargo's
    /// `CARGO_PKG_NAME` where the macro expanded), and its version.
    pub scope: &'static str,
    /// The scope's version (`CARGO_PKG_VERSION`), empty when unknown.
    pub scope_version: &'static str,
    /// Whether `SPANWRIGHT_SPANS` lets this site record, as last decided.
    pub filter: FilterCache,
}

impl Site {
    /// Whether a call's end records metrics (when a meter is installed).
    #[inline]
    pub(crate) fn has_metrics(&self) -> bool {
        self.job || self.metrics
    }

    /// `code.function.name`, `code.file.path` and `code.line.number`, in that
    /// order (made when needed: a record keeps the site, not these).
    pub(crate) fn code_attributes(&self) -> [KeyValue; 3] {
        [
            KeyValue::new(
                Key::from_static_str(CODE_FUNCTION),
                Value::String(self.function.into()),
            ),
            KeyValue::new(
                Key::from_static_str(CODE_FILE),
                Value::String(self.file.into()),
            ),
            KeyValue::new(
                Key::from_static_str(CODE_LINE),
                Value::I64(i64::from(self.line)),
            ),
        ]
    }

    /// The instrumentation scope of the site's spans.
    pub(crate) fn instrumentation_scope(&self) -> opentelemetry::InstrumentationScope {
        let scope = opentelemetry::InstrumentationScope::builder(self.scope);
        if self.scope_version.is_empty() {
            scope.build()
        } else {
            scope.with_version(self.scope_version).build()
        }
    }
}

/// The scope of spanwright's own spans (the layers', the `tracing` bridge's).
#[cfg(feature = "tracing")]
pub(crate) fn spanwright_scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder("spanwright")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// A value of Cargo's environment where the macro expanded, or `fallback`
/// outside Cargo (a bare `rustc`).
#[doc(hidden)]
pub const fn cargo_or(value: Option<&'static str>, fallback: &'static str) -> &'static str {
    match value {
        Some(value) => value,
        None => fallback,
    }
}

/// A call site's cached decision: its generation, shifted, and whether it is on.
#[derive(Debug)]
pub struct FilterCache(pub(crate) std::sync::atomic::AtomicU64);

impl FilterCache {
    /// Undecided.
    pub const fn new() -> Self {
        FilterCache(std::sync::atomic::AtomicU64::new(0))
    }
}

impl Default for FilterCache {
    fn default() -> Self {
        FilterCache::new()
    }
}
