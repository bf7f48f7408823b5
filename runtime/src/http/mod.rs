//! HTTP services (feature `http`): [`ServerLayer`], a `tower::Layer` that makes
//! one server span per request for axum, tonic and hyper services. With the
//! feature `axum` the span is named after axum's matched route.

mod server;

pub use server::{ServerBody, ServerFuture, ServerLayer, ServerService};
