//! Nothing lost silently: counts of what happened to every ended span, and the
//! diagnostic lines that tell the user when spans are lost (at most one line per
//! cause every [`REPORT_INTERVAL`]).

use crate::export::diagnostic::{DiagnosticKind, Sink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What happened to the spans recorded since [`crate::Telemetry`] was installed.
///
/// `spans_ended` counts every sampled span that ended (a span a sampler chose to
/// record without sampling is not exported, so not counted); each is then exported,
/// dropped, or still on its way. Exports and drops are counted where they
/// happen (an export the exporter accepted, a span turned away by a full queue,
/// the spans of a failed export); after [`crate::Telemetry::shutdown`] what was
/// still queued is lost too and counted in `spans_dropped`.
///
/// ```
/// use spanwright::opentelemetry_sdk::{error::OTelSdkResult, trace::{SpanData, SpanExporter}};
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
///
/// /// Counts what it is given, to compare with what `stats()` says.
/// #[derive(Debug, Clone, Default)]
/// struct Counting(Arc<AtomicU64>);
/// impl SpanExporter for Counting {
///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
///         self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// #[spanwright::span]
/// fn work() {}
///
/// let received = Counting::default();
/// let telemetry = spanwright::Telemetry::builder().exporter(received.clone()).install().unwrap();
/// work();
/// let stats = telemetry.shutdown();
/// assert_eq!(stats.spans_ended, 1);
/// assert_eq!(stats.spans_exported, received.0.load(Ordering::Relaxed));
/// assert_eq!(stats.spans_dropped, 0);
/// assert_eq!(stats.spans_dropped_queue_full, 0);
/// ```
///
/// With [`crate::TelemetryBuilder::no_export`] nothing is counted: spans are
/// recorded and discarded on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Recorded spans that ended.
    pub spans_ended: u64,
    /// Spans the exporter accepted (for OTLP: the collector accepted; spans it
    /// rejected in an answer of partial success are lost).
    pub spans_exported: u64,
    /// Spans lost: dropped because the export queue was full, in an export that
    /// failed, or still queued when shutdown ran out of time.
    pub spans_dropped: u64,
    /// Export calls that failed (each loses the spans it carried).
    pub export_failures: u64,
    /// Of `spans_dropped`: dropped because the export queue was full, counted
    /// as each was dropped.
    pub spans_dropped_queue_full: u64,
    /// Of `spans_dropped`: carried by exports that failed, counted as each
    /// export failed, and those an OTLP collector rejected in an export it
    /// otherwise accepted (partial success).
    pub spans_lost_in_failed_exports: u64,
    /// Sampling that keeps errors: spans recorded, held, and discarded because
    /// their local trace ended without an error (not drops: discarded on
    /// purpose, never counted in `spans_ended`).
    pub spans_discarded_by_sampler: u64,
    /// Sampling that keeps errors: held spans discarded early because a bound
    /// (spans per trace, in total, the longest wait) made their trace decide
    /// before its root ended, with no error so far.
    pub spans_forced_out: u64,
}

/// How often the same cause may print a line.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(10);

const NEVER: u64 = u64::MAX;

/// The counters one installed pipeline shares between its processor (the
/// calling threads) and its exporter (the export queue's thread).
#[derive(Debug)]
pub(crate) struct Counters {
    /// Spans handed to the batch queue.
    accepted: AtomicU64,
    /// Spans the exporter has taken from the queue.
    taken: AtomicU64,
    dropped_full: AtomicU64,
    exported: AtomicU64,
    lost_in_failures: AtomicU64,
    /// Rejected by the collector in the export being counted (see `rejected`).
    rejected_pending: AtomicU64,
    failures: AtomicU64,
    capacity: u64,
    /// Where spans go, for the failure line.
    destination: String,
    started: Instant,
    drop_line: Reported,
    failure_line: Reported,
    /// Where the lines go.
    sink: Sink,
}

/// When a cause last printed a line, and the count it printed.
#[derive(Debug)]
struct Reported {
    at_millis: AtomicU64,
    count: AtomicU64,
}

impl Reported {
    fn new() -> Self {
        Reported {
            at_millis: AtomicU64::new(NEVER),
            count: AtomicU64::new(0),
        }
    }

    /// Whether a line may be printed now; claims the slot if so.
    fn claim(&self, now_millis: u64) -> bool {
        let last = self.at_millis.load(Ordering::Relaxed);
        let due =
            last == NEVER || now_millis.saturating_sub(last) >= REPORT_INTERVAL.as_millis() as u64;
        due && self
            .at_millis
            .compare_exchange(last, now_millis, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

impl Counters {
    pub(crate) fn new(capacity: usize, destination: String, sink: Sink) -> Self {
        Counters {
            accepted: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            exported: AtomicU64::new(0),
            lost_in_failures: AtomicU64::new(0),
            rejected_pending: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            capacity: capacity as u64,
            destination,
            started: Instant::now(),
            drop_line: Reported::new(),
            failure_line: Reported::new(),
            sink,
        }
    }

    fn now_millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Admits one ended span to the queue, or counts it dropped (queue full).
    #[inline]
    pub(crate) fn admit(&self) -> bool {
        let queued = self.accepted.fetch_add(1, Ordering::Relaxed);
        if queued.saturating_sub(self.taken.load(Ordering::Relaxed)) < self.capacity {
            return true;
        }
        self.accepted.fetch_sub(1, Ordering::Relaxed);
        let dropped = self.dropped_full.fetch_add(1, Ordering::Relaxed) + 1;
        self.report_drop(dropped);
        false
    }

    #[cold]
    fn report_drop(&self, dropped: u64) {
        if !self.drop_line.claim(self.now_millis()) {
            return;
        }
        let before = self.drop_line.count.swap(dropped, Ordering::Relaxed);
        let what = if before == 0 {
            "dropped a span".to_owned()
        } else {
            format!("dropped {} more spans", dropped - before)
        };
        self.sink.report(
            DiagnosticKind::SpansDropped,
            format!(
                "spanwright: {what}: the export queue is full ({} spans wait for an exporter that is not keeping up). \
                 Raise OTEL_BSP_MAX_QUEUE_SIZE or record fewer spans; Telemetry::stats() counts every drop.",
                self.capacity
            ),
        );
    }

    /// The exporter took `count` spans from the queue.
    pub(crate) fn taken(&self, count: usize) {
        self.taken.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// An export succeeded: its spans are exported, but for those the collector
    /// rejected in its answer (counted lost by `rejected` while the export ran;
    /// one export runs at a time).
    pub(crate) fn exported(&self, count: usize) {
        let rejected = self
            .rejected_pending
            .swap(0, Ordering::Relaxed)
            .min(count as u64);
        self.exported
            .fetch_add(count as u64 - rejected, Ordering::Relaxed);
    }

    /// An OTLP collector accepted an export but rejected `count` of its spans
    /// (partial success): they are lost, counted and reported as a failed
    /// export's are.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) fn rejected(&self, count: u64, why: &str) {
        self.rejected_pending.fetch_add(count, Ordering::Relaxed);
        self.export_failed(
            count as usize,
            &format_args!("the collector rejected {count} of its spans: {why}"),
        );
    }

    pub(crate) fn export_failed(&self, count: usize, error: &dyn std::fmt::Display) {
        self.lost_in_failures
            .fetch_add(count as u64, Ordering::Relaxed);
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.failure_line.claim(self.now_millis()) {
            return;
        }
        let before = self.failure_line.count.swap(failures, Ordering::Relaxed);
        let what = if before == 0 {
            format!("an export to {} failed", self.destination)
        } else {
            format!(
                "{} more exports to {} failed",
                failures - before,
                self.destination
            )
        };
        self.sink.report(
            DiagnosticKind::ExportFailed,
            format!(
                "spanwright: {what} ({error}); {count} spans lost. Check that the collector is running, \
                 reachable and accepts this protocol (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL); \
                 Telemetry::stats() counts every failure."
            ),
        );
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> ExportStats {
        let dropped_full = self.dropped_full.load(Ordering::Relaxed);
        let lost_in_failures = self.lost_in_failures.load(Ordering::Relaxed);
        ExportStats {
            spans_ended: self.accepted.load(Ordering::Relaxed) + dropped_full,
            spans_exported: self.exported.load(Ordering::Relaxed),
            spans_dropped: dropped_full + lost_in_failures,
            export_failures: self.failures.load(Ordering::Relaxed),
            spans_dropped_queue_full: dropped_full,
            spans_lost_in_failed_exports: lost_in_failures,
            spans_discarded_by_sampler: 0,
            spans_forced_out: 0,
        }
    }

    /// The final counts once the pipeline has shut down: whatever was not exported
    /// by then is lost.
    pub(crate) fn settle(&self) -> ExportStats {
        let mut stats = self.snapshot();
        stats.spans_dropped = stats.spans_ended.saturating_sub(stats.spans_exported);
        stats
    }

    /// Reports the summary at shutdown when anything was lost, cause by cause.
    pub(crate) fn report_summary(&self, settled: &ExportStats) {
        if let Some(summary) = self.summary(settled) {
            self.sink.report(DiagnosticKind::Summary, summary);
        }
    }

    fn summary(&self, settled: &ExportStats) -> Option<String> {
        if settled.spans_dropped == 0 {
            return None;
        }
        let full = self.dropped_full.load(Ordering::Relaxed);
        let failed = self.lost_in_failures.load(Ordering::Relaxed);
        let left = settled.spans_dropped.saturating_sub(full + failed);
        let mut causes = Vec::new();
        if full > 0 {
            causes.push(format!(
                "{full} dropped with the export queue full (OTEL_BSP_MAX_QUEUE_SIZE)"
            ));
        }
        if failed > 0 {
            causes.push(format!(
                "{failed} in {} failed exports",
                settled.export_failures
            ));
        }
        if left > 0 {
            causes.push(format!("{left} not exported before the shutdown timeout"));
        }
        Some(format!(
            "spanwright: {} of {} spans were not exported: {}",
            settled.spans_dropped,
            settled.spans_ended,
            causes.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_reports_once_per_interval() {
        let line = Reported::new();
        assert!(line.claim(0));
        assert!(!line.claim(1));
        assert!(!line.claim(9_999));
        assert!(line.claim(10_000));
        assert!(!line.claim(10_001));
    }

    #[test]
    fn admission_stops_at_capacity_and_resumes_as_the_exporter_takes() {
        let counters = Counters::new(2, "nowhere".into(), Sink::stderr());
        assert!(counters.admit());
        assert!(counters.admit());
        assert!(!counters.admit());
        counters.taken(2);
        assert!(counters.admit());
        counters.exported(2);
        let stats = counters.snapshot();
        assert_eq!(stats.spans_ended, 4);
        assert_eq!(stats.spans_dropped, 1);
        assert_eq!(stats.spans_exported, 2);
        // The third admitted span was never exported: lost at shutdown.
        assert_eq!(counters.settle().spans_dropped, 2);
    }
}
