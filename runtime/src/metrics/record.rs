//! What a call's end records: `job.duration` for a job, `function.calls` and
//! `function.calls.duration` for a `#[span(metrics)]` function. The duration is
//! the span's own (its start and end times); the exemplar is the span's ids when
//! it was sampled.

use crate::metrics::aggregate::Exemplar;
use crate::metrics::meter::Meter;
use crate::span::site::Site;
use opentelemetry::trace::SpanContext;
use std::borrow::Cow;

/// How a call ended, as its span recorded it.
#[derive(Debug)]
pub(crate) struct CallEnd {
    /// `completed`, `failed`, `panicked`, `cancelled` or `unknown`.
    pub(crate) status: &'static str,
    /// `error.type` of a failure or a panic.
    pub(crate) error_type: Option<Cow<'static, str>>,
    pub(crate) seconds: f64,
    pub(crate) exemplar: Option<Exemplar>,
}

impl CallEnd {
    fn failed(&self) -> bool {
        matches!(self.status, "failed" | "panicked")
    }
}

/// The exemplar of a value recorded under `cx`: only a sampled span's.
pub(crate) fn exemplar(cx: &SpanContext, value: f64, time_unix_nano: u64) -> Option<Exemplar> {
    cx.is_sampled().then(|| Exemplar {
        value,
        time_unix_nano,
        trace_id: cx.trace_id().to_bytes(),
        span_id: cx.span_id().to_bytes(),
    })
}

/// Records the metrics of `site` for a call that ended as `end` says.
pub(crate) fn call_ended(meter: &Meter, site: &'static Site, end: CallEnd) {
    let failed = end.failed();
    if site.job {
        let error_type = end.error_type.filter(|_| failed);
        meter.record_job(site, end.status, error_type, end.seconds, end.exemplar);
    }
    if site.metrics {
        meter.record_call(site, failed, end.seconds, end.exemplar);
    }
}
