//! Span times: read from the monotonic clock and converted to Unix time from a
//! reading of the wall clock that each thread takes again every second. Within
//! a second times never go back and durations never jump with the wall clock;
//! across seconds they follow it (an NTP step, a VM resumed), as the SDK's
//! `SystemTime::now()` would, and a span's end is never put before its start.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

/// How long a thread converts from one wall-clock reading.
const ANCHORED_FOR: Duration = Duration::from_secs(1);

thread_local! {
    static ANCHOR: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// Now, as Unix time.
#[inline]
pub(crate) fn now() -> SystemTime {
    let instant = Instant::now();
    ANCHOR
        .try_with(|anchor| {
            if let Some((at, wall)) = anchor.get() {
                let elapsed = instant.saturating_duration_since(at);
                if elapsed < ANCHORED_FOR {
                    return wall.checked_add(elapsed).unwrap_or(wall);
                }
            }
            let wall = SystemTime::now();
            anchor.set(Some((instant, wall)));
            wall
        })
        .unwrap_or_else(|_| SystemTime::now())
}

/// Nanoseconds since the Unix epoch, as OTLP sends times; a time before it is
/// 0, as the SDK's exporter sends it, and one past 2554 is `u64::MAX`.
#[cfg(any(feature = "metrics", feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    // In 64 bits (not through `as_nanos`' 128): up to the year 2554.
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| {
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    #[test]
    fn follows_the_wall_clock_and_never_goes_back_within_a_second() {
        let first = super::now();
        let wall = SystemTime::now();
        let gap = wall.duration_since(first).unwrap_or_else(|e| e.duration());
        assert!(gap < Duration::from_millis(100), "{gap:?}");
        let mut last = first;
        for _ in 0..1000 {
            let now = super::now();
            assert!(now >= last);
            last = now;
        }
    }

    #[cfg(any(feature = "metrics", feature = "otlp-grpc", feature = "otlp-http"))]
    #[test]
    fn unix_nanos_are_exact_and_saturate_at_both_ends() {
        use super::unix_nanos;
        let epoch = SystemTime::UNIX_EPOCH;
        let t = 1_764_000_000_123_456_789;
        assert_eq!(unix_nanos(epoch + Duration::from_nanos(t)), t);
        assert_eq!(unix_nanos(epoch + Duration::from_nanos(u64::MAX)), u64::MAX);
        let past = epoch + Duration::from_nanos(u64::MAX) + Duration::from_nanos(1);
        assert_eq!(unix_nanos(past), u64::MAX);
        assert_eq!(unix_nanos(epoch - Duration::from_nanos(1)), 0);
        if let Some(far) = epoch.checked_add(Duration::from_secs(u64::MAX / 1_000_000_000 + 1)) {
            assert_eq!(unix_nanos(far), u64::MAX);
        }
    }

    #[test]
    fn takes_the_wall_clock_again_after_a_second() {
        let _ = super::now();
        // The anchor this thread holds: moved back an hour, as if the wall
        // clock had been stepped since it was read.
        super::ANCHOR.with(|anchor| {
            let (at, wall) = anchor.get().unwrap();
            anchor.set(Some((at, wall - Duration::from_secs(3600))));
        });
        let stepped = super::now();
        assert!(SystemTime::now().duration_since(stepped).unwrap() > Duration::from_secs(3000));
        std::thread::sleep(super::ANCHORED_FOR + Duration::from_millis(50));
        let again = super::now();
        let gap = SystemTime::now().duration_since(again).unwrap_or_default();
        assert!(gap < Duration::from_millis(100), "re-anchored: {gap:?}");
    }
}
