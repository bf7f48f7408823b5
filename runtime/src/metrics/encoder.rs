//! The OTLP metrics request (`ExportMetricsServiceRequest`), written straight
//! from a collection: cumulative sums and explicit-bucket histograms, scope
//! `spanwright`.

use crate::metrics::aggregate::{Exemplar, Histogram, Point};
use crate::metrics::instruments::{Instrument, Kind};
use crate::metrics::meter::{Attr, Collected, Series};
use crate::pipeline::encoder::resource_attributes;
use crate::pipeline::wire::{
    bytes, encode_key, encode_varint, fixed64, message, string, string_always, varint,
};
use opentelemetry_sdk::Resource;
use prost::encoding::WireType;

/// `AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: u64 = 2;

/// Appends the request for `collected` under `resource` to `out`.
pub(crate) fn export_request(out: &mut Vec<u8>, resource: &Resource, collected: &Collected) {
    if collected.points.is_empty() {
        return;
    }
    // ExportMetricsServiceRequest.resource_metrics = 1
    message(out, 1, |out| {
        // ResourceMetrics.resource = 1
        message(out, 1, |out| resource_attributes(out, resource));
        // ResourceMetrics.scope_metrics = 2
        message(out, 2, |out| {
            message(out, 1, |out| {
                string(out, 1, "spanwright");
                string(out, 2, env!("CARGO_PKG_VERSION"));
            });
            // The points are sorted by instrument: one `Metric` for each run.
            let points = &collected.points;
            let mut at = 0;
            while at < points.len() {
                let instrument = points[at].0.instrument;
                let run = points[at..]
                    .iter()
                    .take_while(|(series, ..)| series.instrument == instrument)
                    .count();
                metric(out, instrument, &points[at..at + run], collected);
                at += run;
            }
        });
        string(out, 3, resource.schema_url().unwrap_or_default());
    });
}

/// `Metric { name = 1, description = 2, unit = 3, sum = 7 | histogram = 9 }`.
fn metric(
    out: &mut Vec<u8>,
    instrument: Instrument,
    points: &[(Series, Point, Vec<Exemplar>)],
    times: &Collected,
) {
    message(out, 2, |out| {
        string(out, 1, instrument.name());
        string(out, 2, instrument.description());
        string(out, 3, instrument.unit());
        match instrument.kind() {
            Kind::Histogram(_) => message(out, 9, |out| {
                for (series, point, exemplars) in points {
                    if let Point::Histogram(histogram) = point {
                        message(out, 1, |out| {
                            histogram_point(out, series, histogram, exemplars, times)
                        });
                    }
                }
                varint(out, 2, CUMULATIVE);
            }),
            kind @ (Kind::Counter | Kind::UpDownCounter) => message(out, 7, |out| {
                for (series, point, _) in points {
                    if let Point::Sum(sum) = point {
                        message(out, 1, |out| number_point(out, series, *sum, times));
                    }
                }
                varint(out, 2, CUMULATIVE);
                varint(out, 3, u64::from(kind == Kind::Counter));
            }),
        }
    });
}

/// `NumberDataPoint { start_time_unix_nano = 2, time_unix_nano = 3, as_int = 6,
/// attributes = 7 }`.
fn number_point(out: &mut Vec<u8>, series: &Series, sum: i64, times: &Collected) {
    fixed64(out, 2, times.start_unix_nano);
    fixed64(out, 3, times.time_unix_nano);
    // A oneof: written even when zero.
    encode_key(6, WireType::SixtyFourBit, out);
    out.extend_from_slice(&sum.to_le_bytes());
    attributes(out, 7, series);
}

/// `HistogramDataPoint { start_time_unix_nano = 2, time_unix_nano = 3, count = 4,
/// sum = 5, bucket_counts = 6, explicit_bounds = 7, exemplars = 8, attributes =
/// 9, min = 11, max = 12 }`.
fn histogram_point(
    out: &mut Vec<u8>,
    series: &Series,
    histogram: &Histogram,
    exemplars: &[Exemplar],
    times: &Collected,
) {
    fixed64(out, 2, times.start_unix_nano);
    fixed64(out, 3, times.time_unix_nano);
    fixed64(out, 4, histogram.count);
    double(out, 5, histogram.sum);
    packed(
        out,
        6,
        histogram.buckets.iter().map(|count| count.to_le_bytes()),
    );
    packed(
        out,
        7,
        histogram.bounds.iter().map(|bound| bound.to_le_bytes()),
    );
    for exemplar in exemplars {
        message(out, 8, |out| {
            fixed64(out, 2, exemplar.time_unix_nano);
            double(out, 3, exemplar.value);
            bytes(out, 4, &exemplar.span_id);
            bytes(out, 5, &exemplar.trace_id);
        });
    }
    attributes(out, 9, series);
    if histogram.count > 0 {
        double(out, 11, histogram.min);
        double(out, 12, histogram.max);
    }
}

/// A double written even when zero (an `optional` field or a oneof).
fn double(out: &mut Vec<u8>, tag: u32, value: f64) {
    encode_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// A packed repeated field of 8-byte values.
fn packed(out: &mut Vec<u8>, tag: u32, values: impl ExactSizeIterator<Item = [u8; 8]>) {
    if values.len() == 0 {
        return;
    }
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(8 * values.len() as u64, out);
    for value in values {
        out.extend_from_slice(&value);
    }
}

/// A series' attributes, each a `KeyValue { key = 1, value = 2 }` whose
/// `AnyValue` is a string (1) or an integer (3).
fn attributes(out: &mut Vec<u8>, tag: u32, series: &Series) {
    for (key, value) in &series.attributes {
        message(out, tag, |out| {
            string(out, 1, key);
            message(out, 2, |out| match value {
                Attr::Str(text) => string_always(out, 1, text),
                Attr::Int(number) => {
                    encode_key(3, WireType::Varint, out);
                    encode_varint(*number as u64, out);
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::export_request;
    use crate::metrics::aggregate::Exemplar;
    use crate::metrics::instruments::{Instrument, JOB_BOUNDS};
    use crate::metrics::meter::{Attr, Meter};
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
    use prost::Message as _;

    #[test]
    fn a_collection_decodes_as_the_otlp_request() {
        let meter = Meter::new();
        let exemplar = Exemplar {
            value: 0.2,
            time_unix_nano: 42,
            trace_id: [7; 16],
            span_id: [9; 8],
        };
        let job = |status: &'static str| {
            vec![
                ("job.name", Attr::Str("resize".into())),
                ("job.status", Attr::Str(status.into())),
            ]
        };
        meter.record(
            Instrument::JobDuration,
            job("completed"),
            0.2,
            Some(exemplar),
        );
        meter.record(Instrument::JobDuration, job("completed"), 40.0, None);
        meter.record(Instrument::JobDuration, job("failed"), 0.001, None);
        meter.add(
            Instrument::HttpServerActiveRequests,
            vec![("http.response.status_code", Attr::Int(-1))],
            0,
        );
        let collected = meter.collect();
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("worker")
            .build();
        let mut out = Vec::new();
        export_request(&mut out, &resource, &collected);
        let request = ExportMetricsServiceRequest::decode(&*out).expect("a valid request");

        let resource_metrics = &request.resource_metrics[0];
        let service = &resource_metrics.resource.as_ref().unwrap().attributes[0];
        assert_eq!(service.key, "service.name");
        let scope = &resource_metrics.scope_metrics[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, "spanwright");
        assert_eq!(scope.metrics.len(), 2);

        let jobs = &scope.metrics[0];
        assert_eq!(
            (jobs.name.as_str(), jobs.unit.as_str()),
            ("job.duration", "s")
        );
        let Some(Data::Histogram(histogram)) = &jobs.data else {
            panic!("a histogram: {jobs:?}")
        };
        assert_eq!(histogram.aggregation_temporality, 2);
        let completed = &histogram.data_points[0];
        assert_eq!(completed.count, 2);
        assert_eq!(completed.sum, Some(40.2));
        assert_eq!((completed.min, completed.max), (Some(0.2), Some(40.0)));
        assert_eq!(completed.explicit_bounds, JOB_BOUNDS);
        assert_eq!(completed.bucket_counts.iter().sum::<u64>(), 2);
        assert_eq!(
            completed.bucket_counts[JOB_BOUNDS.partition_point(|b| *b < 0.2)],
            1
        );
        assert_eq!(completed.start_time_unix_nano, collected.start_unix_nano);
        assert_eq!(completed.time_unix_nano, collected.time_unix_nano);
        let kept = &completed.exemplars[0];
        assert_eq!(
            (kept.trace_id.as_slice(), kept.span_id.as_slice()),
            (&[7; 16][..], &[9; 8][..])
        );
        assert_eq!(kept.time_unix_nano, 42);
        let attributes: Vec<(String, Option<Any>)> = completed
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().and_then(|v| v.value.clone()),
                )
            })
            .collect();
        assert_eq!(
            attributes,
            [
                (
                    "job.name".to_owned(),
                    Some(Any::StringValue("resize".into()))
                ),
                (
                    "job.status".to_owned(),
                    Some(Any::StringValue("completed".into()))
                ),
            ]
        );
        assert_eq!(histogram.data_points[1].count, 1);
        assert!(histogram.data_points[1].exemplars.is_empty());

        let active = &scope.metrics[1];
        let Some(Data::Sum(sum)) = &active.data else {
            panic!("a sum: {active:?}")
        };
        assert!(!sum.is_monotonic);
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(0)));
        assert_eq!(
            point.attributes[0].value.as_ref().unwrap().value,
            Some(Any::IntValue(-1))
        );
    }
}
