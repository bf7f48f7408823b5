//! The instruments spanwright records: their names, units, kinds and bucket
//! boundaries.

/// The semantic conventions' advised boundaries for `http.server.request.duration`
/// (seconds); autometrics uses the same for function durations.
pub(crate) const REQUEST_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Jobs run longer than requests: the same, then up to an hour.
pub(crate) const JOB_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// One of spanwright's instruments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Instrument {
    /// `job.duration`: every `#[traced_job]` call.
    JobDuration,
    /// `function.calls`: every call of a `#[span(metrics)]` function.
    FunctionCalls,
    /// `function.calls.duration`: the same calls' durations.
    FunctionCallsDuration,
    /// `http.server.request.duration`: every request through `ServerLayer`
    /// (feature `http`).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    HttpServerRequestDuration,
    /// `http.server.active_requests`: requests `ServerLayer` is serving.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    HttpServerActiveRequests,
}

/// How an instrument aggregates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// Explicit-bucket histogram with these boundaries.
    Histogram(&'static [f64]),
    /// Monotonic sum.
    Counter,
    /// Non-monotonic sum.
    UpDownCounter,
}

impl Instrument {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Instrument::JobDuration => "job.duration",
            Instrument::FunctionCalls => "function.calls",
            Instrument::FunctionCallsDuration => "function.calls.duration",
            Instrument::HttpServerRequestDuration => "http.server.request.duration",
            Instrument::HttpServerActiveRequests => "http.server.active_requests",
        }
    }

    pub(crate) fn unit(self) -> &'static str {
        match self {
            Instrument::JobDuration
            | Instrument::FunctionCallsDuration
            | Instrument::HttpServerRequestDuration => "s",
            Instrument::FunctionCalls => "{call}",
            Instrument::HttpServerActiveRequests => "{request}",
        }
    }

    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) fn description(self) -> &'static str {
        match self {
            Instrument::JobDuration => "Duration of jobs, by job name and outcome.",
            Instrument::FunctionCalls => "Calls of a function, by result (autometrics).",
            Instrument::FunctionCallsDuration => "Duration of a function's calls (autometrics).",
            Instrument::HttpServerRequestDuration => "Duration of HTTP server requests.",
            Instrument::HttpServerActiveRequests => "Number of active HTTP server requests.",
        }
    }

    pub(crate) fn kind(self) -> Kind {
        match self {
            Instrument::JobDuration => Kind::Histogram(JOB_BOUNDS),
            Instrument::FunctionCallsDuration | Instrument::HttpServerRequestDuration => {
                Kind::Histogram(REQUEST_BOUNDS)
            }
            Instrument::FunctionCalls => Kind::Counter,
            Instrument::HttpServerActiveRequests => Kind::UpDownCounter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{JOB_BOUNDS, REQUEST_BOUNDS};

    #[test]
    fn bounds_increase() {
        for bounds in [REQUEST_BOUNDS, JOB_BOUNDS] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(&JOB_BOUNDS[..REQUEST_BOUNDS.len()], REQUEST_BOUNDS);
    }
}
