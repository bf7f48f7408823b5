//! The installation's meter: every series of every instrument, under one short
//! lock. A series is an instrument and its attribute set; an instrument with
//! more than `MAX_SERIES` attribute sets records the rest in one series marked
//! `otel.metric.overflow` (the SDK's cardinality limit and marker).

use crate::metrics::aggregate::{Exemplar, Histogram, Point};
use crate::metrics::instruments::{Instrument, Kind};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

/// Attribute sets per instrument before overflow.
pub(crate) const MAX_SERIES: usize = 2000;

/// An attribute value of a series: strings and integers are all the
/// instruments use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Attr {
    Str(Cow<'static, str>),
    /// A status code (feature `http`).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    Int(i64),
}

/// An instrument and one attribute set, in the order the instrument writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Series {
    pub(crate) instrument: Instrument,
    pub(crate) attributes: Vec<(&'static str, Attr)>,
}

/// What an export reads: every series, its aggregate, and the interval's
/// exemplars.
#[derive(Debug)]
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
pub(crate) struct Collected {
    pub(crate) start_unix_nano: u64,
    pub(crate) time_unix_nano: u64,
    pub(crate) points: Vec<(Series, Point, Vec<Exemplar>)>,
}

#[derive(Debug)]
pub(crate) struct Meter {
    start_unix_nano: u64,
    series: Mutex<HashMap<Series, Point>>,
}

impl Meter {
    pub(crate) fn new() -> Self {
        Meter {
            start_unix_nano: unix_nanos(SystemTime::now()),
            series: Mutex::new(HashMap::new()),
        }
    }

    /// Records `value` into a histogram instrument.
    pub(crate) fn record(
        &self,
        instrument: Instrument,
        attributes: Vec<(&'static str, Attr)>,
        value: f64,
        exemplar: Option<Exemplar>,
    ) {
        self.update(instrument, attributes, |point| {
            if let Point::Histogram(histogram) = point {
                histogram.record(value, exemplar);
            }
        });
    }

    /// Adds `delta` to a sum instrument.
    pub(crate) fn add(
        &self,
        instrument: Instrument,
        attributes: Vec<(&'static str, Attr)>,
        delta: i64,
    ) {
        self.update(instrument, attributes, |point| {
            if let Point::Sum(sum) = point {
                *sum += delta;
            }
        });
    }

    fn update(
        &self,
        instrument: Instrument,
        attributes: Vec<(&'static str, Attr)>,
        apply: impl FnOnce(&mut Point),
    ) {
        let series = Series {
            instrument,
            attributes,
        };
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(point) = all.get_mut(&series) {
            apply(point);
            return;
        }
        let known = all.keys().filter(|s| s.instrument == instrument).count();
        let series = if known < MAX_SERIES {
            series
        } else {
            Series {
                instrument,
                attributes: vec![("otel.metric.overflow", Attr::Str("true".into()))],
            }
        };
        let point = all
            .entry(series)
            .or_insert_with(|| match instrument.kind() {
                Kind::Histogram(bounds) => Point::Histogram(Histogram::new(bounds)),
                Kind::Counter | Kind::UpDownCounter => Point::Sum(0),
            });
        apply(point);
    }

    /// Every series so far (cumulative), in a stable order, with the exemplars
    /// of the interval since the last collection.
    pub(crate) fn collect(&self) -> Collected {
        let mut points: Vec<(Series, Point, Vec<Exemplar>)> = {
            let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
            all.iter_mut()
                .map(|(series, point)| {
                    let exemplars = match point {
                        Point::Histogram(histogram) => histogram.take_exemplars(),
                        Point::Sum(_) => Vec::new(),
                    };
                    (series.clone(), point.clone(), exemplars)
                })
                .collect()
        };
        points.sort_by(|a, b| a.0.cmp(&b.0));
        Collected {
            start_unix_nano: self.start_unix_nano,
            time_unix_nano: unix_nanos(SystemTime::now()),
            points,
        }
    }
}

pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::{Attr, MAX_SERIES, Meter};
    use crate::metrics::aggregate::Point;
    use crate::metrics::instruments::Instrument;

    fn status(value: &'static str) -> Vec<(&'static str, Attr)> {
        vec![("job.status", Attr::Str(value.into()))]
    }

    #[test]
    fn series_are_kept_apart_by_attributes_and_cumulative() {
        let meter = Meter::new();
        meter.record(Instrument::JobDuration, status("completed"), 0.2, None);
        meter.record(Instrument::JobDuration, status("completed"), 0.3, None);
        meter.record(Instrument::JobDuration, status("failed"), 0.1, None);
        meter.add(Instrument::FunctionCalls, status("completed"), 1);
        let counts = |meter: &Meter| -> Vec<(String, u64)> {
            meter
                .collect()
                .points
                .into_iter()
                .map(|(series, point, _)| {
                    let count = match point {
                        Point::Histogram(h) => h.count,
                        Point::Sum(sum) => sum as u64,
                    };
                    (
                        format!("{} {:?}", series.instrument.name(), series.attributes[0].1),
                        count,
                    )
                })
                .collect()
        };
        let expected = vec![
            ("job.duration Str(\"completed\")".to_owned(), 2),
            ("job.duration Str(\"failed\")".to_owned(), 1),
            ("function.calls Str(\"completed\")".to_owned(), 1),
        ];
        assert_eq!(counts(&meter), expected);
        // Cumulative: a second collection sees the same totals.
        assert_eq!(counts(&meter), expected);
    }

    #[test]
    fn attribute_sets_past_the_limit_overflow_into_one_series() {
        let meter = Meter::new();
        for code in 0..MAX_SERIES as i64 + 5 {
            let attributes = vec![("http.response.status_code", Attr::Int(code))];
            meter.record(
                Instrument::HttpServerRequestDuration,
                attributes,
                0.01,
                None,
            );
        }
        let collected = meter.collect();
        assert_eq!(collected.points.len(), MAX_SERIES + 1);
        let overflow = collected
            .points
            .iter()
            .find(|(series, ..)| series.attributes[0].0 == "otel.metric.overflow")
            .expect("an overflow series");
        assert!(matches!(&overflow.1, Point::Histogram(h) if h.count == 5));
    }
}
