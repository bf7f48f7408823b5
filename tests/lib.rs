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
