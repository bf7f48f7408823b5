//! Span times: read from the monotonic clock and converted to Unix time from one
//! reading of the wall clock per process, so a span's duration is never
//! negative and never jumps with the wall clock (NTP steps, a VM resumed).

use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

static BASE: OnceLock<(Instant, SystemTime)> = OnceLock::new();

/// Now, as Unix time on the monotonic clock.
#[inline]
pub(crate) fn now() -> SystemTime {
    let &(instant, wall) = BASE.get_or_init(|| (Instant::now(), SystemTime::now()));
    wall.checked_add(instant.elapsed()).unwrap_or(wall)
}

#[cfg(test)]
mod tests {
    #[test]
    fn follows_the_wall_clock_and_never_goes_back() {
        let first = super::now();
        let wall = std::time::SystemTime::now();
        let gap = wall.duration_since(first).unwrap_or_else(|e| e.duration());
        assert!(gap < std::time::Duration::from_secs(1), "{gap:?}");
        assert!(super::now() >= first);
    }
}
