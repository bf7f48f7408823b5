//! Context: the current span as the body sees it (`current`), trace context
//! across process boundaries (`propagation`, with the strict W3C propagators
//! `trace_context` and `baggage`, and the carriers they read and write,
//! `carrier`).

pub(crate) mod baggage;
pub mod carrier;
pub(crate) mod current;
pub(crate) mod propagation;
pub(crate) mod trace_context;
