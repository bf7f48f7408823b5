//! The span hot path: everything an annotated function's call runs through. The
//! enabled check (`switch`), the call site (`site`), span start (`start`, with the
//! installed tracer and the sampler prediction), the recording that ends the span
//! (`recording`), and the two runners: `sync` for functions, `instrumented` for
//! futures. `probe` and `value` turn return values and arguments into attributes;
//! `panic_capture` lets a span record the panic unwinding through it.
//!
//! Without the `sdk` feature (a library's lean build) nothing can be installed:
//! the start of a span, the installed tracer and the sampler are left out, and
//! a span never starts.

pub(crate) mod attrs;
pub(crate) mod filter;
pub(crate) mod instrumented;
pub(crate) mod panic_capture;
pub(crate) mod probe;
pub(crate) mod recording;
#[cfg(feature = "sdk")]
pub(crate) mod sampling;
pub(crate) mod site;
pub(crate) mod start;
#[cfg(feature = "sdk")]
pub(crate) mod start_record;
#[cfg(feature = "sdk")]
mod start_sdk;
pub(crate) mod switch;
pub(crate) mod sync;
#[cfg(feature = "sdk")]
pub(crate) mod tracer;
pub(crate) mod value;
