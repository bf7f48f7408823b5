//! Export: which exporter to use (`choice`), the console exporter (`console`) and
//! its waterfall renderer (`waterfall`), OTLP (`otlp`, and its transports
//! `otlp_grpc` and `otlp_http`; they sit behind the export queue of
//! `crate::pipeline`), export statistics
//! (`stats`) and the lines that report losses (`diagnostic`), bounded flushes
//! (`flush`) and the bounded waits they and the queues use (`wait`).

pub(crate) mod choice;
pub(crate) mod console;
pub(crate) mod diagnostic;
pub(crate) mod flush;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod otlp;
#[cfg(all(test, feature = "otlp-grpc", feature = "otlp-http"))]
mod otlp_at_a_receiver;
#[cfg(feature = "otlp-grpc")]
mod otlp_grpc;
#[cfg(feature = "otlp-http")]
mod otlp_http;
pub(crate) mod stats;
pub(crate) mod wait;
pub(crate) mod waterfall;
