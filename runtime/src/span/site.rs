//! What the macro knows statically about one annotated function: one `static`
//! per call site, read by span start and span end.

use opentelemetry::trace::SpanKind;

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
    /// Record `code.function.name`, `code.file.path` and `code.line.number`
    /// (annotated functions); the layers' spans have no code of the user's to point at.
    pub code: bool,
}
