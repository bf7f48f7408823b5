//! Pieces shared by the examples: the job message and a simulated storage and
//! model server.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// One queued job: its payload and, in `attributes`, the producer's trace context.
#[derive(Debug, Clone)]
pub struct Message {
    /// The job id.
    pub id: u64,
    /// Delivery attempt, from 1.
    pub attempt: u32,
    /// The object to process.
    pub object: String,
    /// The model to run.
    pub model: String,
    /// Message attributes: `traceparent`, `tracestate`, `baggage`.
    pub attributes: HashMap<String, String>,
}

/// Why a job failed.
#[derive(Debug)]
pub enum JobError {
    /// The object is not in storage.
    NotFound(String),
    /// The model server does not serve this model.
    UnknownModel(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::NotFound(key) => write!(f, "object {key} not found"),
            JobError::UnknownModel(model) => write!(f, "model {model} is not served"),
        }
    }
}

impl std::error::Error for JobError {}

/// Simulated work: sleeps a few milliseconds, varying by `seed`.
pub async fn work(seed: u64, base_ms: u64) {
    tokio::time::sleep(Duration::from_millis(base_ms + seed % 7)).await;
}
