//! The installation's meter: every series of every instrument, under one short
//! lock. The series of annotated functions are found by their call site (its
//! address) and outcome, with a fast hash, and get their attributes only when
//! collected; other series (the server layer's) by their attributes. An
//! instrument with more than `MAX_SERIES` attribute sets records the rest in
//! one series marked `otel.metric.overflow` (the SDK's cardinality limit and
//! marker).

use crate::metrics::aggregate::{Exemplar, Histogram, Point};
use crate::metrics::instruments::{Instrument, JOB_BOUNDS, Kind, REQUEST_BOUNDS};
use crate::pipeline::clock::unix_nanos;
use crate::span::site::Site;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
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

/// A call site, compared and hashed by its address.
#[derive(Debug, Clone, Copy)]
struct SiteRef(&'static Site);

impl PartialEq for SiteRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for SiteRef {}

impl Hash for SiteRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

/// A job's series: its site, `job.status` and `error.type`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JobKey {
    site: SiteRef,
    status: &'static str,
    error_type: Option<Cow<'static, str>>,
}

/// A `metrics` function's calls: counted by result, and timed.
#[derive(Debug)]
struct Calls {
    ok: i64,
    error: i64,
    duration: Histogram,
}

#[derive(Debug, Default)]
struct SeriesMaps {
    jobs: FxHashMap<JobKey, Histogram>,
    calls: FxHashMap<SiteRef, Calls>,
    other: FxHashMap<Series, Point>,
    /// How many attribute sets each instrument has in `other`.
    other_counts: FxHashMap<Instrument, usize>,
}

#[derive(Debug)]
pub(crate) struct Meter {
    start_unix_nano: u64,
    series: Mutex<SeriesMaps>,
}

impl Meter {
    pub(crate) fn new() -> Self {
        Meter {
            start_unix_nano: unix_nanos(SystemTime::now()),
            series: Mutex::new(SeriesMaps::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SeriesMaps> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A job's duration, by its status and error type.
    pub(crate) fn record_job(
        &self,
        site: &'static Site,
        status: &'static str,
        error_type: Option<Cow<'static, str>>,
        seconds: f64,
        exemplar: Option<Exemplar>,
    ) {
        let key = JobKey {
            site: SiteRef(site),
            status,
            error_type,
        };
        self.lock()
            .jobs
            .entry(key)
            .or_insert_with(|| Histogram::new(JOB_BOUNDS))
            .record(seconds, exemplar);
    }

    /// A `metrics` function's call: counted by result, and timed.
    pub(crate) fn record_call(
        &self,
        site: &'static Site,
        failed: bool,
        seconds: f64,
        exemplar: Option<Exemplar>,
    ) {
        let mut series = self.lock();
        let calls = series.calls.entry(SiteRef(site)).or_insert_with(|| Calls {
            ok: 0,
            error: 0,
            duration: Histogram::new(REQUEST_BOUNDS),
        });
        if failed {
            calls.error += 1;
        } else {
            calls.ok += 1;
        }
        calls.duration.record(seconds, exemplar);
    }

    /// Records `value` into a histogram instrument.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
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
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
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
        let mut all = self.lock();
        if let Some(point) = all.other.get_mut(&series) {
            apply(point);
            return;
        }
        let known = all.other_counts.entry(instrument).or_default();
        let series = if *known < MAX_SERIES {
            *known += 1;
            series
        } else {
            Series {
                instrument,
                attributes: vec![("otel.metric.overflow", Attr::Str("true".into()))],
            }
        };
        let point = all
            .other
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
        let mut points: Vec<Collecting> = Vec::new();
        {
            let mut all = self.lock();
            for (key, histogram) in &mut all.jobs {
                let mut attributes = vec![
                    ("job.name", Attr::Str(Cow::Borrowed(key.site.0.name))),
                    ("job.status", Attr::Str(Cow::Borrowed(key.status))),
                ];
                if let Some(error_type) = &key.error_type {
                    attributes.push(("error.type", Attr::Str(error_type.clone())));
                }
                let exemplars = histogram.take_exemplars();
                points.push((
                    Series {
                        instrument: Instrument::JobDuration,
                        attributes,
                    },
                    (key.site.0.file, key.site.0.line),
                    Point::Histogram(histogram.clone()),
                    exemplars,
                ));
            }
            for (site, calls) in &mut all.calls {
                let (module, function) = function_and_module(site.0);
                let from = (site.0.file, site.0.line);
                let named = || {
                    vec![
                        ("function", Attr::Str(Cow::Borrowed(function))),
                        ("module", Attr::Str(Cow::Borrowed(module))),
                    ]
                };
                for (result, count) in [("ok", calls.ok), ("error", calls.error)] {
                    if count > 0 {
                        let mut attributes = named();
                        attributes.push(("result", Attr::Str(Cow::Borrowed(result))));
                        points.push((
                            Series {
                                instrument: Instrument::FunctionCalls,
                                attributes,
                            },
                            from,
                            Point::Sum(count),
                            Vec::new(),
                        ));
                    }
                }
                let exemplars = calls.duration.take_exemplars();
                points.push((
                    Series {
                        instrument: Instrument::FunctionCallsDuration,
                        attributes: named(),
                    },
                    from,
                    Point::Histogram(calls.duration.clone()),
                    exemplars,
                ));
            }
            for (series, point) in &mut all.other {
                let exemplars = match point {
                    Point::Histogram(histogram) => histogram.take_exemplars(),
                    Point::Sum(_) => Vec::new(),
                };
                points.push((series.clone(), ("", 0), point.clone(), exemplars));
            }
        }
        points.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        // Call sites whose attributes are the same (two jobs of one name, two
        // methods of one name in a module) are one series.
        let mut merged: Vec<(Series, Point, Vec<Exemplar>)> = Vec::with_capacity(points.len());
        for (series, _, point, exemplars) in points {
            match merged.last_mut() {
                Some(last) if last.0 == series => {
                    last.1.merge(&point);
                    last.2.extend(exemplars);
                }
                _ => merged.push((series, point, exemplars)),
            }
        }
        Collected {
            start_unix_nano: self.start_unix_nano,
            time_unix_nano: unix_nanos(SystemTime::now()),
            points: merged,
        }
    }
}

/// A point being collected, with where it comes from (a call site's file and
/// line), so that equal series merge in the same order at every collection.
type Collecting = (Series, (&'static str, u32), Point, Vec<Exemplar>);

/// `module` and `function` of the autometrics labels: the site's module path
/// and the function's own name.
fn function_and_module(site: &Site) -> (&'static str, &'static str) {
    site.function
        .rsplit_once("::")
        .unwrap_or(("", site.function))
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

    /// A job, with `metrics`, at `line` of its file.
    const fn job_at(line: u32) -> crate::span::site::Site {
        crate::span::site::Site {
            name: "resize",
            kind: opentelemetry::trace::SpanKind::Internal,
            function: "worker::images::resize",
            file: file!(),
            line,
            attrs: 0,
            status_ok: false,
            job: true,
            metrics: true,
            code: true,
            scope: "worker",
            scope_version: "",
            filter: crate::span::site::FilterCache::new(),
        }
    }

    static SITE: crate::span::site::Site = job_at(1);

    #[test]
    fn a_sites_series_get_their_attributes_when_collected() {
        let meter = Meter::new();
        meter.record_job(&SITE, "completed", None, 0.2, None);
        meter.record_job(&SITE, "completed", None, 0.3, None);
        meter.record_job(&SITE, "failed", Some("io::Error".into()), 0.1, None);
        meter.record_call(&SITE, false, 0.2, None);
        meter.record_call(&SITE, true, 0.1, None);
        meter.record_call(&SITE, false, 0.4, None);
        let described: Vec<String> = meter
            .collect()
            .points
            .into_iter()
            .map(|(series, point, _)| {
                let attributes: Vec<String> = series
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect();
                let value = match point {
                    Point::Histogram(h) => format!("count {}", h.count),
                    Point::Sum(sum) => format!("sum {sum}"),
                };
                format!(
                    "{} {} {value}",
                    series.instrument.name(),
                    attributes.join(" ")
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                "job.duration job.name=Str(\"resize\") job.status=Str(\"completed\") count 2",
                "job.duration job.name=Str(\"resize\") job.status=Str(\"failed\") error.type=Str(\"io::Error\") count 1",
                "function.calls function=Str(\"resize\") module=Str(\"worker::images\") result=Str(\"error\") sum 1",
                "function.calls function=Str(\"resize\") module=Str(\"worker::images\") result=Str(\"ok\") sum 2",
                "function.calls.duration function=Str(\"resize\") module=Str(\"worker::images\") count 3",
            ]
        );
    }

    /// Another call site of the same name in the same module.
    static SAME_NAME: crate::span::site::Site = job_at(2);

    #[test]
    fn two_sites_with_the_same_attributes_are_one_series() {
        let meter = Meter::new();
        meter.record_job(&SITE, "completed", None, 0.2, None);
        meter.record_job(&SAME_NAME, "completed", None, 20.0, None);
        meter.record_call(&SITE, false, 0.2, None);
        meter.record_call(&SAME_NAME, false, 0.4, None);
        let collected = meter.collect();
        let names: Vec<&str> = collected
            .points
            .iter()
            .map(|(series, ..)| series.instrument.name())
            .collect();
        assert_eq!(
            names,
            ["job.duration", "function.calls", "function.calls.duration"]
        );
        let Point::Histogram(jobs) = &collected.points[0].1 else {
            panic!("a histogram")
        };
        assert_eq!((jobs.count, jobs.min, jobs.max), (2, 0.2, 20.0));
        assert_eq!(jobs.buckets.iter().sum::<u64>(), 2);
        assert!(matches!(collected.points[1].1, Point::Sum(2)));
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
