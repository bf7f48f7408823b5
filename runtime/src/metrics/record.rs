//! What a call's end records: `job.duration` for a job, `function.calls` and
//! `function.calls.duration` for a `#[span(metrics)]` function. The duration is
//! the span's own (its start and end times); the exemplar is the span's ids when
//! it was sampled.

use crate::metrics::aggregate::Exemplar;
use crate::metrics::instruments::Instrument;
use crate::metrics::meter::{Attr, Meter};
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
pub(crate) fn call_ended(meter: &Meter, site: &Site, end: CallEnd) {
    if site.job {
        let mut attributes = vec![
            ("job.name", Attr::Str(Cow::Borrowed(site.name))),
            ("job.status", Attr::Str(Cow::Borrowed(end.status))),
        ];
        if let (true, Some(error_type)) = (end.failed(), &end.error_type) {
            attributes.push(("error.type", Attr::Str(error_type.clone())));
        }
        meter.record(
            Instrument::JobDuration,
            attributes,
            end.seconds,
            end.exemplar,
        );
    }
    if site.metrics {
        let (module, function) = site
            .function
            .rsplit_once("::")
            .unwrap_or(("", site.function));
        let result = if end.failed() { "error" } else { "ok" };
        meter.add(
            Instrument::FunctionCalls,
            vec![
                ("function", Attr::Str(Cow::Borrowed(function))),
                ("module", Attr::Str(Cow::Borrowed(module))),
                ("result", Attr::Str(Cow::Borrowed(result))),
            ],
            1,
        );
        meter.record(
            Instrument::FunctionCallsDuration,
            vec![
                ("function", Attr::Str(Cow::Borrowed(function))),
                ("module", Attr::Str(Cow::Borrowed(module))),
            ],
            end.seconds,
            end.exemplar,
        );
    }
}
