//! Context: the current span as the body sees it (`current`), trace context
//! across process boundaries (`propagation`), and the panic hook that lets a span
//! record the panic unwinding through it (`panic`).

pub(crate) mod current;
pub(crate) mod panic;
pub(crate) mod propagation;
