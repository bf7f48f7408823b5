//! spanwright's own span pipeline. A span being recorded is a [`record`]
//! (`record::Record`, its typed values in `attribute`), made by span start with ids from `ids` and times from
//! `clock`, and seen by OpenTelemetry code through its `live` handle in the
//! current context. Ended, it goes to its `sink`: the bounded export `queue` of
//! each exporter (the SDK's own spans join it through `processor`), drained by
//! one thread per exporter into a `destination`, for OTLP the `encoder`, which
//! writes the request's protobuf bytes straight from the records; or, for
//! sampling that keeps errors, to its local trace in `held` until that trace is
//! decided. The attribute value length limit (`truncate`) is applied as a span
//! is queued.
//!
//! Without the `sdk` feature (a library's lean build) nothing can install a
//! pipeline, so only the clock, which span end reads, is compiled.

#[cfg(feature = "sdk")]
pub(crate) mod attribute;
pub(crate) mod clock;
#[cfg(feature = "sdk")]
pub(crate) mod destination;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod encoder;
#[cfg(feature = "sdk")]
pub(crate) mod finished;
#[cfg(feature = "sdk")]
pub(crate) mod held;
#[cfg(feature = "sdk")]
pub(crate) mod ids;
#[cfg(feature = "sdk")]
pub(crate) mod live;
#[cfg(feature = "sdk")]
pub(crate) mod processor;
#[cfg(feature = "sdk")]
pub(crate) mod queue;
#[cfg(feature = "sdk")]
pub(crate) mod record;
#[cfg(feature = "sdk")]
pub(crate) mod sink;
#[cfg(feature = "sdk")]
pub(crate) mod truncate;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod wire;
