//! The span hot path: everything an annotated function's call runs through. The
//! enabled check (`switch`), the call site (`site`), span start (`start`, with the
//! installed tracer and the sampler prediction), the recording that ends the span
//! (`recording`), and the two runners: `sync` for functions, `instrumented` for
//! futures. `probe` and `value` turn return values and arguments into attributes;
//! `panic_capture` lets a span record the panic unwinding through it.

pub(crate) mod attrs;
pub(crate) mod filter;
pub(crate) mod instrumented;
pub(crate) mod panic_capture;
pub(crate) mod probe;
pub(crate) mod recording;
pub(crate) mod sampling;
pub(crate) mod site;
pub(crate) mod start;
pub(crate) mod start_record;
mod start_sdk;
pub(crate) mod switch;
pub(crate) mod sync;
pub(crate) mod tracer;
pub(crate) mod value;
