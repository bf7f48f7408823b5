//! The no-op path, in a process where nothing is ever installed or captured.

use spanwright::opentelemetry::Context;
use spanwright::opentelemetry::trace::TraceContextExt;
use spanwright_tests::{block_on, traceparent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted<T>(value: T) -> T {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    value
}

#[spanwright::span(
    name = "job.{kind}",
    parent = counted(carrier),
    links(counted(carrier)),
    attrs(x = counted(x), shown = %counted(kind), dbg = ?counted(x)),
    ret
)]
fn sync_work(x: u64, kind: &str, carrier: &HashMap<String, String>) -> Result<u64, String> {
    assert!(
        !Context::current().has_active_span(),
        "no span on the disabled path"
    );
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x * 2)
    }
}

#[spanwright::span(attrs(x = counted(x)))]
async fn async_work(x: u64) -> u64 {
    assert!(!Context::current().has_active_span());
    x + 1
}

#[spanwright::traced_job(id = counted(x), attempt = counted(1_u32), flush)]
fn job(x: u64) -> u64 {
    x
}

fn set(var: &str, value: Option<&str>) {
    // SAFETY: this binary's one test is the only thread touching the environment.
    unsafe {
        match value {
            Some(v) => std::env::set_var(var, v),
            None => std::env::remove_var(var),
        }
    }
}

#[test]
fn nothing_is_evaluated_or_recorded_when_disabled() {
    let carrier = traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    assert!(!spanwright::enabled());
    assert_eq!(sync_work(4, "resize", &carrier), Ok(8));
    assert_eq!(sync_work(0, "resize", &carrier), Err("zero".into()));
    assert_eq!(block_on(async_work(1)), 2);
    assert_eq!(job(5), 5);
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "no attribute, parent or link expression ran"
    );
    assert_eq!(spanwright::current().trace_id(), None);

    // Turned off by the environment: init succeeds and installs nothing.
    for (var, value) in [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_ENABLED", "false"),
        ("OTEL_SDK_DISABLED", "TRUE"),
    ] {
        set(var, Some(value));
        let telemetry = spanwright::init().expect("disabled is not an error");
        assert!(!telemetry.is_enabled(), "{var}={value}");
        assert!(!spanwright::enabled());
        assert_eq!(sync_work(1, "k", &carrier), Ok(2));
        assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
        set(var, None);
    }

    // A bad value is an error naming the variable, the value and what is accepted.
    set("OTEL_SDK_DISABLED", Some("maybe"));
    let error = spanwright::init().unwrap_err().to_string();
    assert_eq!(
        error,
        "OTEL_SDK_DISABLED=\"maybe\" is not valid: true or false"
    );
    set("OTEL_SDK_DISABLED", None);
    assert!(!spanwright::enabled());
}
