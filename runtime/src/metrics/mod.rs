//! Metrics beside traces (feature `metrics`): the instruments (`instruments`),
//! recorded when a span ends, from its own start and end, before the sampler's
//! decision (`record`), into spanwright's own aggregation (`meter`: cumulative
//! sums and explicit-bucket histograms whose buckets keep an exemplar, the ids
//! of a sampled span that fell into them, `aggregate`), read every export
//! interval by a thread of its own (`export`) and written as an OTLP metrics
//! request (`encoder`). Own, not the SDK's: the SDK's aggregations keep no
//! exemplars.

pub(crate) mod aggregate;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod encoder;
pub(crate) mod export;
pub(crate) mod instruments;
pub(crate) mod meter;
pub(crate) mod record;
