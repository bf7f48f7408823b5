//! Trace and span ids from a generator of each thread's own (wyrand, seeded
//! from the standard library's per-process random keys): a few instructions an
//! id, no lock, no shared state. Ids need to be unique and unpredictable
//! enough to sample on, not secret.

use opentelemetry::trace::{SpanId, TraceId};
use std::cell::Cell;
use std::hash::{BuildHasher as _, Hasher as _};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

#[inline]
fn next() -> u64 {
    let mix = |x: u64| {
        let product = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    };
    STATE
        .try_with(|state| {
            let x = state.get().wrapping_add(0xa076_1d64_78bd_642f);
            state.set(x);
            mix(x)
        })
        // A thread being torn down: seeded afresh.
        .unwrap_or_else(|_| mix(seed()))
}

/// A new span id, never the invalid (zero) one.
#[inline]
pub(crate) fn span_id() -> SpanId {
    loop {
        let id = next();
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

/// A new trace id, never the invalid (zero) one.
#[inline]
pub(crate) fn trace_id() -> TraceId {
    loop {
        let id = (u128::from(next()) << 64) | u128::from(next());
        if id != 0 {
            return TraceId::from(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn ids_do_not_repeat_within_or_across_threads() {
        let mine: Vec<u64> = (0..10_000)
            .map(|_| u64::from_be_bytes(super::span_id().to_bytes()))
            .collect();
        let theirs: Vec<u64> = std::thread::spawn(|| {
            (0..10_000)
                .map(|_| u64::from_be_bytes(super::span_id().to_bytes()))
                .collect()
        })
        .join()
        .unwrap();
        let all: HashSet<u64> = mine.iter().chain(&theirs).copied().collect();
        assert_eq!(all.len(), 20_000);
        let traces: HashSet<u128> = (0..10_000)
            .map(|_| u128::from_be_bytes(super::trace_id().to_bytes()))
            .collect();
        assert_eq!(traces.len(), 10_000);
    }
}
