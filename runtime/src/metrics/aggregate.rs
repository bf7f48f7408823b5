//! What a series holds between exports: a cumulative sum, or an explicit-bucket
//! histogram whose buckets each keep the last exemplar that fell into them.

/// The trace and span of a sampled span, and the value it recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) value: f64,
    pub(crate) time_unix_nano: u64,
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
}

/// One series' aggregate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Point {
    Sum(i64),
    Histogram(Histogram),
}

impl Point {
    /// Adds `other`, a point of the same instrument and attributes (two call
    /// sites whose attributes are the same: two jobs of one name).
    pub(crate) fn merge(&mut self, other: &Point) {
        match (self, other) {
            (Point::Sum(sum), Point::Sum(more)) => *sum += more,
            (Point::Histogram(histogram), Point::Histogram(more)) => {
                debug_assert!(std::ptr::eq(histogram.bounds, more.bounds));
                for (count, added) in histogram.buckets.iter_mut().zip(more.buckets.iter()) {
                    *count += added;
                }
                histogram.count += more.count;
                histogram.sum += more.sum;
                histogram.min = histogram.min.min(more.min);
                histogram.max = histogram.max.max(more.max);
            }
            _ => debug_assert!(false, "one instrument has one kind"),
        }
    }
}

/// An explicit-bucket histogram: bucket `i` counts values in
/// `(bounds[i - 1], bounds[i]]`, the last one values above every bound.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    pub(crate) bounds: &'static [f64],
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) buckets: Box<[u64]>,
    /// The last exemplar of each bucket since the previous export.
    pub(crate) exemplars: Box<[Option<Exemplar>]>,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            buckets: vec![0; bounds.len() + 1].into(),
            exemplars: vec![None; bounds.len() + 1].into(),
        }
    }

    pub(crate) fn record(&mut self, value: f64, exemplar: Option<Exemplar>) {
        let bucket = self.bounds.partition_point(|&bound| bound < value);
        self.buckets[bucket] += 1;
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if exemplar.is_some() {
            self.exemplars[bucket] = exemplar;
        }
    }

    /// The exemplars kept, taken: each export carries those of its interval.
    pub(crate) fn take_exemplars(&mut self) -> Vec<Exemplar> {
        self.exemplars.iter_mut().filter_map(Option::take).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Exemplar, Histogram};

    #[test]
    fn values_land_in_their_buckets() {
        let mut histogram = Histogram::new(&[0.1, 1.0]);
        for value in [0.05, 0.1, 0.5, 1.0, 2.0, 3.0] {
            histogram.record(value, None);
        }
        // (-inf, 0.1], (0.1, 1.0], (1.0, +inf)
        assert_eq!(&*histogram.buckets, &[2, 2, 2]);
        assert_eq!(histogram.count, 6);
        assert!((histogram.sum - 6.65).abs() < 1e-9);
        assert_eq!((histogram.min, histogram.max), (0.05, 3.0));
    }

    #[test]
    fn each_bucket_keeps_its_last_exemplar_until_taken() {
        let exemplar = |value, id: u8| Exemplar {
            value,
            time_unix_nano: 1,
            trace_id: [id; 16],
            span_id: [id; 8],
        };
        let mut histogram = Histogram::new(&[1.0]);
        histogram.record(0.5, Some(exemplar(0.5, 1)));
        histogram.record(0.7, Some(exemplar(0.7, 2)));
        histogram.record(0.9, None);
        histogram.record(5.0, Some(exemplar(5.0, 3)));
        assert_eq!(
            histogram.take_exemplars(),
            [exemplar(0.7, 2), exemplar(5.0, 3)]
        );
        assert!(histogram.take_exemplars().is_empty());
    }
}
