//! Set-up: [`crate::init`] and the builder (`telemetry`), each `OTEL_*` variable
//! read in a leaf module of its own (`env`, `sampler`, `propagators`, `limits`,
//! `batch_settings`, `otlp_settings`, `metrics_settings`; the machinery they configure is in
//! `export`),
//! and [`crate::InitError`] (`error`), which every other set-up and export module
//! reports through.

pub(crate) mod batch_settings;
pub(crate) mod env;
pub(crate) mod error;
pub(crate) mod limits;
#[cfg(feature = "metrics")]
pub(crate) mod metrics_settings;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod otlp_settings;
pub(crate) mod propagators;
pub(crate) mod sampler;
pub(crate) mod telemetry;
