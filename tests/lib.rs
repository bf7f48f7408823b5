//! Shared helpers for the integration tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A future that is pending once, then ready: a suspension point.
pub fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// A waker that does nothing, for hand-written poll loops.
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(NoopWake))
}

/// Polls `future` once.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    future.poll(&mut Context::from_waker(&waker))
}

/// Drives `future` to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(value) = poll_once(future.as_mut()) {
            return value;
        }
    }
}

/// Peak resident set size of this process so far, in MiB (Linux).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// A W3C traceparent with the given ids, sampled.
pub fn traceparent(trace_id: &str, span_id: &str) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(
        "traceparent".to_string(),
        format!("00-{trace_id}-{span_id}-01"),
    )])
}

/// External services some tests need (a broker, OTLP receivers, a TLS terminator).
/// The README's test command installs and starts them; under a plain `cargo test`
/// a test whose service is missing prints one line and passes without running,
/// unless `SPANWRIGHT_REQUIRE_SERVICES` is set (the test command sets it), which
/// makes a missing service a failure.
pub mod services {
    use std::process::{Command, Stdio};

    fn runs(program: &str, args: &[&str]) -> bool {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn available(what: &str, present: bool) -> bool {
        if !present {
            let line = format!(
                "skipped: {what} is not installed; `bash .ci/run` installs it and runs this test"
            );
            assert!(
                std::env::var_os("SPANWRIGHT_REQUIRE_SERVICES").is_none(),
                "{line}"
            );
            // Straight to the stream: libtest captures the print macros of a passing test.
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
        }
        present
    }

    /// Rotel (PyPI `rotel`), an OTLP receiver.
    pub fn rotel() -> bool {
        available(
            "Rotel (pip install --pre rotel==0.0.1a15)",
            runs("python3", &["-c", "import rotel"]),
        )
    }

    /// Otelite (crates.io `otelite`), an OTLP receiver with a query API.
    pub fn otelite() -> bool {
        available(
            "Otelite (cargo install --locked otelite --version 0.1.156)",
            runs("otelite", &["--version"]),
        )
    }

    /// Debian's `redis-server`.
    pub fn redis() -> bool {
        available(
            "redis-server (Debian's redis-server)",
            runs("redis-server", &["--version"]),
        )
    }

    /// Debian's `nginx` and the `openssl` CLI.
    pub fn nginx_and_openssl() -> bool {
        available("nginx (Debian's nginx)", runs("nginx", &["-v"]))
            && available("openssl (Debian's openssl)", runs("openssl", &["version"]))
    }
}

/// An exporter keeping every span it receives, and the resource it was given,
/// for tests that install telemetry and read back what was exported.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    spans: Arc<std::sync::Mutex<Vec<spanwright::opentelemetry_sdk::trace::SpanData>>>,
    resource: Arc<std::sync::Mutex<Option<spanwright::opentelemetry_sdk::Resource>>>,
    resources_given: Arc<std::sync::atomic::AtomicUsize>,
}

impl spanwright::opentelemetry_sdk::trace::SpanExporter for Kept {
    async fn export(
        &self,
        batch: Vec<spanwright::opentelemetry_sdk::trace::SpanData>,
    ) -> spanwright::opentelemetry_sdk::error::OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &spanwright::opentelemetry_sdk::Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
        self.resources_given
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Kept {
    /// Every span exported so far.
    pub fn spans(&self) -> Vec<spanwright::opentelemetry_sdk::trace::SpanData> {
        self.spans.lock().unwrap().clone()
    }

    /// The first exported span named `name`; panics naming the others if none is.
    pub fn named(&self, name: &str) -> spanwright::opentelemetry_sdk::trace::SpanData {
        let spans = self.spans();
        let found = spans.iter().find(|s| s.name == name).cloned();
        found.unwrap_or_else(|| {
            let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
            panic!("no span {name:?} among {names:?}")
        })
    }

    /// The resource attribute `key`; the batch processor hands the resource to its
    /// exporter on its own thread, so this waits (up to 5 s) for it to arrive.
    pub fn resource(&self, key: &'static str) -> Option<spanwright::opentelemetry::Value> {
        let start = std::time::Instant::now();
        while self.resource.lock().unwrap().is_none()
            && start.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let resource = self.resource.lock().unwrap();
        resource
            .as_ref()
            .and_then(|r| r.get(&spanwright::opentelemetry::Key::from_static_str(key)))
    }

    /// How many times a pipeline was built around this exporter (each hands it a
    /// resource).
    pub fn resources_given(&self) -> usize {
        self.resources_given
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A test's turn in a binary whose tests change the process environment:
/// `serial` held, every one of `variables` unset but `vars`, which are set.
pub fn environment<V: AsRef<std::ffi::OsStr>>(
    serial: &'static std::sync::Mutex<()>,
    variables: &[&str],
    vars: &[(&str, V)],
) -> std::sync::MutexGuard<'static, ()> {
    let turn = serial.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: the binary's tests change the environment only while holding `serial`.
    unsafe {
        for var in variables {
            std::env::remove_var(var);
        }
        for (var, value) in vars {
            std::env::set_var(var, value);
        }
    }
    turn
}
