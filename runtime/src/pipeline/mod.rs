//! spanwright's own span pipeline. A span being recorded is a [`record`]
//! (`record::Record`), made by span start with ids from `ids` and times from
//! `clock`, and seen by OpenTelemetry code through its `live` handle in the
//! current context. Ended, it goes to its `sink`: the bounded export `queue` of
//! each exporter (the SDK's own spans join it through `processor`), drained by
//! one thread per exporter into a `destination`, for OTLP the `encoder`, which
//! writes the request's protobuf bytes straight from the records; or, for
//! sampling that keeps errors, to its local trace in `held` until that trace is
//! decided. The attribute value length limit (`truncate`) is applied as a span
//! is queued.

pub(crate) mod clock;
pub(crate) mod destination;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod encoder;
pub(crate) mod finished;
pub(crate) mod held;
pub(crate) mod ids;
pub(crate) mod live;
pub(crate) mod processor;
pub(crate) mod queue;
pub(crate) mod record;
pub(crate) mod sink;
pub(crate) mod truncate;
