//! HTTP and gRPC services and clients (feature `http`): [`ServerLayer`], a
//! `tower::Layer` that makes one server span per request for axum, tonic and
//! hyper services (an RPC span for a gRPC request), and [`ClientLayer`], its
//! client side for tower clients (a tonic `Channel`, a hyper client). With the
//! feature `axum` the server span is named after axum's matched route; with the
//! feature `reqwest`, [`ClientMiddleware`] makes the client span for reqwest.

mod client;
mod conventions;
mod grpc;
#[cfg(feature = "reqwest")]
mod reqwest;
mod server;
mod server_metrics;
#[cfg(all(test, feature = "sdk"))]
mod tests;
mod url;

pub use client::{ClientBody, ClientFuture, ClientLayer, ClientService};
#[cfg(feature = "reqwest")]
pub use reqwest::ClientMiddleware;
pub use server::{ServerBody, ServerFuture, ServerLayer, ServerService};
