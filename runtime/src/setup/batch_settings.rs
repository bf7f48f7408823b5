//! The export queue's settings from `OTEL_BSP_*` (the batch span processor's
//! variables). spanwright reads them itself (the SDK ignores a bad value silently), and its default queue is larger than
//! the SDK's, so that a steady load a local collector keeps up with on average
//! loses nothing to bursts.

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use std::time::Duration;

/// The default queue. With the SDK's defaults (2,048 spans, batches of 512) a
/// steady 50,000 spans/s into a local collector over gRPC loses spans; this
/// queue loses none at that rate, and fewer than smaller ones at 100,000/s
/// (BENCHMARKS.md). Its lists grow only as far as the load
/// takes them, a batch at a time.
pub(crate) const DEFAULT_QUEUE_SIZE: usize = 16_384;
/// The default batch, OpenTelemetry's: measured against a live local
/// collector under overload over gRPC, batches of 384 to 768 delivered the
/// most spans a second (512: 1.7–2× the SDK's defaults), 2,048 about half as
/// many and far less steadily, 256 a fraction (BENCHMARKS.md); a request's own
/// work spread over fewer spans costs ~70 (HTTP) to ~140 (gRPC) instructions
/// a span more than batches of 2,048.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 512;
const DEFAULT_DELAY: Duration = Duration::from_millis(5_000);
/// The console is read by a person: a batch every 100 ms, not every 5 s.
const CONSOLE_DELAY: Duration = Duration::from_millis(100);

/// What the export queue is configured with, and where each value came from.
#[derive(Debug, Clone)]
pub(crate) struct BatchSettings {
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    pub(crate) delay: Duration,
    pub(crate) sources: Vec<(&'static str, String, &'static str)>,
}

fn read(variable: &'static str, minimum: u64) -> Result<Option<u64>, InitError> {
    let Some(value) = env_var(variable) else {
        return Ok(None);
    };
    match value.parse::<u64>() {
        Ok(n) if n >= minimum => Ok(Some(n)),
        _ => Err(InitError::InvalidVariable {
            variable,
            value,
            accepted: format!("a whole number, {minimum} or more"),
        }),
    }
}

/// Where a setting came from: the variable when it was set, else the default.
fn source(found: Option<u64>, variable: &'static str) -> &'static str {
    if found.is_some() { variable } else { "default" }
}

/// Reads `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`,
/// `OTEL_BSP_SCHEDULE_DELAY` (ms) and `OTEL_BSP_EXPORT_TIMEOUT` (ms).
pub(crate) fn from_env(console: bool) -> Result<BatchSettings, InitError> {
    let mut sources = Vec::new();
    let queue = read("OTEL_BSP_MAX_QUEUE_SIZE", 1)?;
    let queue_size = queue.map_or(DEFAULT_QUEUE_SIZE, |n| n as usize);
    sources.push((
        "batch queue size",
        queue_size.to_string(),
        source(queue, "OTEL_BSP_MAX_QUEUE_SIZE"),
    ));
    let batch = read("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1)?;
    let batch_size = match batch {
        Some(n) if n as usize > queue_size => {
            return Err(InitError::InvalidVariable {
                variable: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                value: n.to_string(),
                accepted: format!("at most the queue size ({queue_size})"),
            });
        }
        Some(n) => n as usize,
        None => DEFAULT_BATCH_SIZE.min(queue_size),
    };
    sources.push((
        "batch size",
        batch_size.to_string(),
        source(batch, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    ));
    let delay = read("OTEL_BSP_SCHEDULE_DELAY", 0)?;
    let delay_value = match delay {
        Some(ms) => Duration::from_millis(ms),
        None if console => CONSOLE_DELAY,
        None => DEFAULT_DELAY,
    };
    sources.push((
        "batch delay",
        format!("{} ms", delay_value.as_millis()),
        source(delay, "OTEL_BSP_SCHEDULE_DELAY"),
    ));
    // Validated like the others; an export is bounded by the exporter's own
    // timeout (OTEL_EXPORTER_OTLP_TIMEOUT).
    read("OTEL_BSP_EXPORT_TIMEOUT", 0)?;
    Ok(BatchSettings {
        queue_size,
        batch_size,
        delay: delay_value,
        sources,
    })
}
