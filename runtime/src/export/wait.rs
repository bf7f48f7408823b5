//! Bounded waits on a condition variable: what a flush, a shutdown and a
//! drain of stderr wait with, never longer than their bound.

use std::sync::{Condvar, MutexGuard};
use std::time::Instant;

/// Waits on `condvar` while `waiting` holds, at most until `deadline` (`None`:
/// a bound too far to be an `Instant`, as `Duration::MAX` gives: no bound).
/// Returns the guard, and whether `waiting` stopped holding in time.
pub(crate) fn wait_while_until<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    waiting: impl FnMut(&mut T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    match deadline {
        None => {
            let guard = condvar
                .wait_while(guard, waiting)
                .unwrap_or_else(|p| p.into_inner());
            (guard, true)
        }
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            let (guard, result) = condvar
                .wait_timeout_while(guard, left, waiting)
                .unwrap_or_else(|p| p.into_inner());
            (guard, !result.timed_out())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wait_while_until;
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};

    #[test]
    fn ends_when_the_condition_does_or_at_the_deadline() {
        let shared = Arc::new((Mutex::new(false), Condvar::new()));
        let (lock, condvar) = &*shared;
        let deadline = Instant::now().checked_add(Duration::from_millis(20));
        let (guard, done) = wait_while_until(condvar, lock.lock().unwrap(), deadline, |d| !*d);
        assert!(
            !done && !*guard,
            "nobody set it: the deadline ends the wait"
        );
        drop(guard);

        let setter = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            *setter.0.lock().unwrap() = true;
            setter.1.notify_all();
        });
        let (guard, done) = wait_while_until(condvar, lock.lock().unwrap(), None, |d| !*d);
        assert!(done && *guard);
        drop(guard);
        thread.join().unwrap();
    }
}
