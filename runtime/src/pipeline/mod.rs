//! spanwright's own span pipeline: what happens to a span after it ends, on the
//! way to the collector. So far: the OTLP encoder (`encoder`), which writes the
//! export request's protobuf bytes directly from the spans, for both OTLP
//! transports.

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod encoder;
