//! The metrics export thread: every interval (and on a flush, and once at
//! shutdown) it collects the meter and sends the collection to each
//! destination: OTLP (the request written by `encoder`, sent on the exporter's
//! own runtime) or the console. Nothing is sent while nothing was recorded.
//! A dead or hung collector holds only this thread; shutdown waits for it at
//! most the shutdown timeout.

use crate::export::diagnostic::Sink;
use crate::export::wait::wait_while_until;
use crate::metrics::aggregate::Point;
use crate::metrics::meter::{Attr, Collected, Meter};
use opentelemetry_sdk::Resource;
use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where collections go.
pub(crate) enum MetricsDestination {
    /// An OTLP collector, and what diagnostics call it.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    Otlp(
        crate::export::otlp::OnOwnRuntime<crate::export::otlp::Otlp>,
        String,
    ),
    /// Lines on stderr.
    Console,
}

impl MetricsDestination {
    fn send(&self, collected: &Collected, resource: &Resource, sink: &Sink) {
        match self {
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            MetricsDestination::Otlp(exporter, destination) => {
                let mut body = Vec::with_capacity(256 * collected.points.len());
                crate::metrics::encoder::export_request(&mut body, resource, collected);
                if let Err(why) = exporter.send(body) {
                    sink.report(
                        crate::DiagnosticKind::ExportFailed,
                        format!("spanwright: a metrics export to {destination} failed: {why}"),
                    );
                }
            }
            MetricsDestination::Console => {
                let _ = (resource, sink);
                // Written whole, errors ignored: a closed stderr never panics.
                let _ = std::io::stderr()
                    .lock()
                    .write_all(console_text(collected).as_bytes());
            }
        }
    }

    fn stop(&self) {
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        if let MetricsDestination::Otlp(exporter, _) = self {
            exporter.stop();
        }
    }
}

/// A collection as the console shows it: one line per series.
pub(crate) fn console_text(collected: &Collected) -> String {
    let mut text = String::new();
    for (series, point, exemplars) in &collected.points {
        let attributes: Vec<String> = series
            .attributes
            .iter()
            .map(|(key, value)| match value {
                Attr::Str(text) => format!("{key}={text}"),
                Attr::Int(number) => format!("{key}={number}"),
            })
            .collect();
        let value = match point {
            Point::Sum(sum) => format!("{sum}"),
            Point::Histogram(h) => format!(
                "count={} sum={:.6}{unit} min={:.6}{unit} max={:.6}{unit}",
                h.count,
                h.sum,
                h.min,
                h.max,
                unit = series.instrument.unit()
            ),
        };
        let exemplar = exemplars
            .last()
            .map(|e| {
                let trace: String = e.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                format!(" exemplar trace_id={trace}")
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "metric {}{{{}}} {value}{exemplar}\n",
            series.instrument.name(),
            attributes.join(",")
        ));
    }
    text
}

#[derive(Default)]
struct State {
    stop: bool,
    /// Flushes asked for, and the last one an export has covered.
    requested: u64,
    completed: u64,
    finished: bool,
}

struct Shared {
    meter: Arc<Meter>,
    resource: Resource,
    destinations: Vec<MetricsDestination>,
    sink: Sink,
    interval: Duration,
    state: Mutex<State>,
    /// Wakes the thread: a flush, or the stop.
    wake: Condvar,
    /// Wakes the waiters: an export done, or the thread finished.
    done: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn export(&self) {
        let collected = self.meter.collect();
        if collected.points.is_empty() {
            return;
        }
        for destination in &self.destinations {
            destination.send(&collected, &self.resource, &self.sink);
        }
    }

    fn run(&self) {
        // Nothing the export does is recorded.
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        loop {
            let (stop, covers) = {
                let deadline = Instant::now().checked_add(self.interval);
                let (state, _) = wait_while_until(&self.wake, self.state(), deadline, |state| {
                    !state.stop && state.requested == state.completed
                });
                (state.stop, state.requested)
            };
            // A panicking destination loses this export, not the thread.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.export()));
            let mut state = self.state();
            state.completed = state.completed.max(covers);
            if stop {
                state.finished = true;
                self.done.notify_all();
                return;
            }
            self.done.notify_all();
        }
    }
}

/// The running export: flushed on demand, exported once more and stopped at
/// shutdown.
pub(crate) struct MetricsExport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MetricsExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExport")
            .field("interval", &self.shared.interval)
            .finish_non_exhaustive()
    }
}

impl MetricsExport {
    pub(crate) fn start(
        meter: Arc<Meter>,
        resource: Resource,
        destinations: Vec<MetricsDestination>,
        interval: Duration,
        sink: Sink,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            meter,
            resource,
            destinations,
            sink,
            interval,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let running = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("spanwright-metrics".into())
            .spawn(move || running.run())?;
        Ok(MetricsExport { shared })
    }

    /// Exports now and waits for it, at most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.shared.state();
        if state.finished {
            return;
        }
        state.requested += 1;
        let ticket = state.requested;
        self.shared.wake.notify_all();
        drop(wait_while_until(
            &self.shared.done,
            state,
            deadline,
            |state| state.completed < ticket && !state.finished,
        ));
    }

    /// Asks the thread for its last export and to stop; does not wait.
    pub(crate) fn stop(&self) {
        let mut state = self.shared.state();
        state.stop = true;
        self.shared.wake.notify_all();
    }

    /// Waits for the last export until `deadline` (`None`: no bound), then
    /// stops the exporters; a thread still sending then is left to finish alone.
    pub(crate) fn wait_stopped(&self, deadline: Option<Instant>) {
        self.stop();
        drop(wait_while_until(
            &self.shared.done,
            self.shared.state(),
            deadline,
            |state| !state.finished,
        ));
        for destination in &self.shared.destinations {
            destination.stop();
        }
    }
}

impl Drop for MetricsExport {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the metrics of an installation as `settings` say: its meter and
/// export thread, or `None` when no exporter is chosen (nothing is recorded).
/// Each chosen exporter is described in `described` (name, value, source).
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(unused_mut, unused_variables, clippy::ptr_arg)
)]
pub(crate) fn start(
    settings: &crate::setup::metrics_settings::MetricsSettings,
    resource: &Resource,
    sink: &Sink,
    described: &mut Vec<(&'static str, String, String)>,
) -> Result<Option<(Arc<Meter>, MetricsExport)>, crate::InitError> {
    use crate::setup::metrics_settings::MetricsChoice;
    let mut destinations = Vec::new();
    let mut sink = sink.clone();
    for choice in &settings.exporters {
        match choice {
            MetricsChoice::Console => destinations.push(MetricsDestination::Console),
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            MetricsChoice::Otlp { protocol, endpoint } => {
                use crate::setup::otlp_settings::{self, Signal};
                let otlp = otlp_settings::from_env(Signal::Metrics, *protocol, endpoint.clone())?;
                described.push((
                    "metrics.otlp.endpoint",
                    otlp_settings::without_userinfo(&otlp.endpoint),
                    otlp.endpoint_source.into(),
                ));
                let destination = otlp.destination();
                let secrets = otlp.secrets();
                sink = sink.redacting(secrets.clone());
                let exporter = crate::export::otlp::metrics_exporter(otlp)
                    .map_err(|e| e.redacted(&secrets))?;
                destinations.push(MetricsDestination::Otlp(exporter, destination));
            }
        }
    }
    if destinations.is_empty() {
        return Ok(None);
    }
    let meter = Arc::new(Meter::new());
    let export = MetricsExport::start(
        Arc::clone(&meter),
        resource.clone(),
        destinations,
        settings.interval,
        sink,
    )
    .map_err(|error| {
        crate::InitError::Exporter(format!("cannot start the metrics export thread: {error}"))
    })?;
    Ok(Some((meter, export)))
}

#[cfg(test)]
mod tests {
    use super::console_text;
    use crate::metrics::aggregate::Exemplar;
    use crate::metrics::instruments::Instrument;
    use crate::metrics::meter::{Attr, Meter};

    #[test]
    fn the_console_shows_a_line_per_series() {
        let meter = Meter::new();
        let job = vec![
            ("job.name", Attr::Str("resize".into())),
            ("job.status", Attr::Str("completed".into())),
        ];
        let exemplar = Exemplar {
            value: 0.5,
            time_unix_nano: 1,
            trace_id: [0xab; 16],
            span_id: [1; 8],
        };
        meter.record(Instrument::JobDuration, job.clone(), 0.5, Some(exemplar));
        meter.record(Instrument::JobDuration, job, 1.5, None);
        let text = console_text(&meter.collect());
        assert_eq!(
            text,
            format!(
                "metric job.duration{{job.name=resize,job.status=completed}} count=2 sum=2.000000s \
                 min=0.500000s max=1.500000s exemplar trace_id={}\n",
                "ab".repeat(16)
            )
        );
    }
}
