//! `SPANWRIGHT_SPANS` (here through the builder's `spans`, the same
//! directives): a library turned off but one of its modules on records only that
//! module's functions, and what a turned-off function calls attaches to its
//! caller's span. A process of its own: the directives are process-wide.

use spanwright::opentelemetry::trace::SpanId;

#[spanwright::span]
fn application() {
    spanwright_testlib::with_callback(|| {
        inside_callback();
        spanwright_testlib::keep::kept();
    });
}

#[spanwright::span]
fn inside_callback() {}

/// Telemetry is process-wide: the tests of this binary take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn only_what_the_directives_turn_on_is_recorded() {
    let _turn = serial();
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .spans("spanwright_testlib=off, spanwright_testlib::keep=on")
        .exporter(kept.clone())
        .install()
        .unwrap();
    application();
    telemetry.flush();
    let spans = kept.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort();
    // `with_callback` and `fetch` are off; `kept` (in `keep`) is on.
    assert_eq!(
        names,
        ["application", "inside_callback", "kept"],
        "{spans:#?}"
    );
    let span = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let root = span("application");
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    // Children of the turned-off `with_callback` attach to its caller.
    for child in ["inside_callback", "kept"] {
        assert_eq!(
            span(child).parent_span_id,
            root.span_context.span_id(),
            "{child}"
        );
    }
    drop(telemetry);

    // Uninstalled, the directives go with it: the next installation records all.
    let kept = spanwright_tests::Kept::default();
    let telemetry = spanwright::Telemetry::builder()
        .exporter(kept.clone())
        .install()
        .unwrap();
    application();
    telemetry.flush();
    assert_eq!(kept.spans().len(), 5, "{:#?}", kept.spans());
}

#[test]
fn a_bad_directive_is_an_init_error() {
    let _turn = serial();
    let error = spanwright::Telemetry::builder()
        .spans("storage-lib=off")
        .no_export()
        .install()
        .unwrap_err()
        .to_string();
    assert!(error.contains("SPANWRIGHT_SPANS"), "{error}");
    assert!(error.contains("storage_lib"), "names the fix: {error}");
}
