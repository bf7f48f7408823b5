//! Real OTLP receivers that no one here wrote, started on free loopback ports:
//! Rotel (prints every span it receives) and Otelite (stores them and answers
//! queries). `scripts/test` installs both; without them the tests that need them
//! skip with one line (see `spanwright_tests::services`).

pub mod otelite;
pub mod rotel;

use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct ports nothing listens on right now (all held at once while they
/// are picked, so two of them can never be the same).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One received span, as a receiver reports it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: String,
    pub name: String,
    /// `server`, `client`, `internal`, `producer`, `consumer`.
    pub kind: String,
    /// `unset`, `ok`, `error`.
    pub status: String,
    pub status_message: String,
    /// Attribute values with their wire type: `Int(7)`, `Str(x)`, `Bool(true)`, `Double(1.5)`.
    pub attributes: Vec<(String, String)>,
    /// Event names with their attributes.
    pub events: Vec<(String, Vec<(String, String)>)>,
    pub service_name: String,
}

/// The value of `key` among received attributes.
pub fn attr_of<'a>(attributes: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl Received {
    pub fn attr(&self, key: &str) -> Option<&str> {
        attr_of(&self.attributes, key)
    }
}
