//! `init()` from the OTEL_* environment: every variable, its precedence, and the
//! error for a bad value, checked on `Telemetry::describe()` and on what reaches
//! an exporter.

use spanwright::opentelemetry::Value;
use spanwright::testing::SpanDataExt;
use spanwright::{InitError, Telemetry};
use spanwright_tests::Kept;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const VARIABLES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_ENABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
];

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the environment for one test: only `vars` set, everything else unset.
struct Env(#[allow(dead_code)] MutexGuard<'static, ()>);

fn env(vars: &[(&str, &str)]) -> Env {
    Env(spanwright_tests::environment(&SERIAL, VARIABLES, vars))
}

fn install_kept() -> (Telemetry, Kept) {
    let kept = Kept::default();
    (
        Telemetry::builder()
            .exporter(kept.clone())
            .install()
            .unwrap(),
        kept,
    )
}

#[spanwright::span(attrs(a = 1, b = 2, c = 3, text = "abcdefghij"))]
fn work() {
    spanwright::current()
        .add_event("e1", [])
        .add_event("e2", [])
        .add_event("e3", []);
}

fn invalid(result: Result<Telemetry, InitError>) -> String {
    result.expect_err("a bad value is an error").to_string()
}

#[test]
fn service_name_and_resource_attributes() {
    let _env = env(&[
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs,deployment.environment=prod",
        ),
        ("OTEL_SERVICE_NAME", "from-service-name"),
    ]);
    let (telemetry, kept) = install_kept();
    assert_eq!(
        kept.resource("service.name"),
        Some(Value::from("from-service-name")),
        "OTEL_SERVICE_NAME wins"
    );
    assert_eq!(
        kept.resource("deployment.environment"),
        Some(Value::from("prod"))
    );
    drop(telemetry);

    let kept = Kept::default();
    let telemetry = Telemetry::builder()
        .service_name("from-code")
        .exporter(kept.clone())
        .install()
        .unwrap();
    assert_eq!(
        kept.resource("service.name"),
        Some(Value::from("from-code")),
        "code wins"
    );
    assert!(
        telemetry
            .describe()
            .contains("service.name = from-code (code)")
    );
}

#[test]
fn traces_exporter() {
    for (value, expected) in [
        ("console", "exporter = console"),
        ("none", "exporter = none"),
        ("otlp", "exporter = otlp"),
    ] {
        let _env = env(&[("OTEL_TRACES_EXPORTER", value)]);
        let telemetry = spanwright::init().unwrap();
        assert!(
            telemetry
                .describe()
                .contains(&format!("{expected} (OTEL_TRACES_EXPORTER)")),
            "{}",
            telemetry.describe()
        );
    }
    let _env = env(&[]);
    assert!(
        spanwright::init()
            .unwrap()
            .describe()
            .contains("exporter = otlp (default)")
    );
    drop(_env);
    let _env = env(&[("OTEL_TRACES_EXPORTER", "zipkin")]);
    assert_eq!(
        invalid(spanwright::init()),
        "OTEL_TRACES_EXPORTER=\"zipkin\" is not valid: a comma-separated list of otlp, console, none"
    );
    drop(_env);
    let _env = env(&[("OTEL_TRACES_EXPORTER", "")]);
    assert!(
        spanwright::init()
            .unwrap()
            .describe()
            .contains("exporter = otlp (default)"),
        "empty is unset"
    );
}

#[test]
fn otlp_endpoint_and_protocol_precedence() {
    let _env = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
    let described = spanwright::init().unwrap().describe();
    assert!(
        described.contains("otlp.endpoint = http://collector:4318/v1/traces"),
        "{described}"
    );
    drop(_env);

    let _env = env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://specific:4318/v1/traces",
        ),
    ]);
    assert!(
        spanwright::init()
            .unwrap()
            .describe()
            .contains("otlp.endpoint = http://specific:4318/v1/traces")
    );
    drop(_env);

    let _env = env(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ]);
    assert!(
        spanwright::init()
            .unwrap()
            .describe()
            .contains("otlp.endpoint = http://collector:4317 (")
    );
    drop(_env);

    let _env = env(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ]);
    assert!(
        spanwright::init()
            .unwrap()
            .describe()
            .contains("otlp.endpoint = http://localhost:4318/v1/traces"),
        "signal-specific wins"
    );
    drop(_env);

    let _env = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318")]);
    let described = Telemetry::builder()
        .otlp(spanwright::OtlpProtocol::HttpProtobuf, "http://code:4318")
        .install()
        .unwrap()
        .describe();
    assert!(
        described.contains("otlp.endpoint = http://code:4318/v1/traces (code)"),
        "code wins: {described}"
    );
    drop(_env);

    let _env = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
    assert_eq!(
        invalid(spanwright::init()),
        "OTEL_EXPORTER_OTLP_PROTOCOL=\"http/json\" is not valid: grpc or http/protobuf"
    );
    drop(_env);

    let _env = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]);
    let error = invalid(spanwright::init());
    assert!(
        error.starts_with("the exporter cannot start:")
            && error.contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{error}"
    );
}

#[test]
fn sampler_and_its_argument() {
    let samplers = [
        ("always_on", None, true),
        ("always_off", None, false),
        ("traceidratio", Some("1.0"), true),
        ("traceidratio", Some("0"), false),
        ("parentbased_always_on", None, true),
        ("parentbased_always_off", None, false),
        ("parentbased_traceidratio", Some("0.0"), false),
    ];
    for (name, arg, records) in samplers {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", name)];
        if let Some(arg) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
        }
        let _env = env(&vars);
        let (telemetry, kept) = install_kept();
        work();
        telemetry.flush();
        assert_eq!(kept.spans().len(), usize::from(records), "{name} {arg:?}");
    }
    let _env = env(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
    assert!(
        invalid(spanwright::init())
            .starts_with("OTEL_TRACES_SAMPLER=\"sometimes\" is not valid: always_on, always_off")
    );
    drop(_env);
    let _env = env(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
    ]);
    assert_eq!(
        invalid(spanwright::init()),
        "OTEL_TRACES_SAMPLER_ARG=\"2\" is not valid: a ratio from 0.0 to 1.0"
    );
}

/// Continues the trace (and baggage) in `incoming` as far as the configured
/// propagators read it, and returns what they write on the way out.
#[spanwright::span(parent = incoming)]
fn carry(incoming: &HashMap<String, String>) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    spanwright::inject(&mut headers);
    headers
}

fn incoming() -> HashMap<String, String> {
    HashMap::from([
        (
            "traceparent".to_string(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
        ),
        ("tracestate".to_string(), "vendor=opaque".to_string()),
        ("baggage".to_string(), "tenant=acme".to_string()),
    ])
}

#[test]
fn propagators() {
    let cases: [(&str, &[&str]); 4] = [
        ("tracecontext", &["traceparent", "tracestate"]),
        (
            "tracecontext,baggage",
            &["baggage", "traceparent", "tracestate"],
        ),
        ("baggage", &["baggage"]),
        ("none", &[]),
    ];
    for (value, keys) in cases {
        let _env = env(&[("OTEL_PROPAGATORS", value)]);
        let telemetry = Telemetry::builder().no_export().install().unwrap();
        let headers = carry(&incoming());
        let mut got: Vec<&str> = headers.keys().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, keys, "OTEL_PROPAGATORS={value}");
        drop(telemetry);
    }
    let _env = env(&[("OTEL_PROPAGATORS", "b3")]);
    assert_eq!(
        invalid(spanwright::init()),
        "OTEL_PROPAGATORS=\"b3\" is not valid: a comma-separated list of tracecontext, baggage, none"
    );
}

#[test]
fn span_limits_and_value_length() {
    let _env = env(&[
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "5"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
    ]);
    let (telemetry, kept) = install_kept();
    work();
    telemetry.flush();
    let span = &kept.spans()[0];
    assert_eq!(span.attributes.len(), 5, "3 location attributes + 2 of 4");
    assert_eq!(span.dropped_attributes_count, 2);
    assert_eq!(span.events.len(), 2);
    assert_eq!(
        span.attr("code.function.name"),
        Some(&Value::from("conf")),
        "truncated to 4 characters"
    );
    drop(telemetry);
    drop(_env);

    let _env = env(&[
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "7"),
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "1"),
    ]);
    let (telemetry, kept) = install_kept();
    work();
    telemetry.flush();
    assert_eq!(
        kept.spans()[0].attributes.len(),
        7,
        "the span-specific limit wins"
    );
    drop(telemetry);
    drop(_env);

    let _env = env(&[("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1")]);
    assert_eq!(
        invalid(spanwright::init()),
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=\"-1\" is not valid: a whole number, 0 or more"
    );
}

#[test]
fn batch_processor_settings() {
    let _env = env(&[("OTEL_BSP_SCHEDULE_DELAY", "50")]);
    let (telemetry, kept) = install_kept();
    work();
    let start = Instant::now();
    while kept.spans().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "with a 50 ms schedule the span leaves without a flush"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(telemetry);
}

#[test]
fn describe_names_every_source() {
    let _env = env(&[
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    let described = spanwright::init().unwrap().describe();
    for line in [
        "exporter = none (OTEL_TRACES_EXPORTER)",
        "sampler = AlwaysOn (OTEL_TRACES_SAMPLER)",
        "propagators = tracecontext,baggage (default)",
        "attributes per span = 128 (default)",
        "attribute value length = unlimited (default)",
    ] {
        assert!(
            described.contains(line),
            "{line} missing from:\n{described}"
        );
    }
}

static EVALUATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn counted(value: u64) -> u64 {
    EVALUATED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    value
}

#[spanwright::span(name = "counted.{x}", attrs(x = counted(x)), parent = carrier)]
fn counted_work(x: u64, carrier: &HashMap<String, String>) {}

#[test]
fn attributes_are_evaluated_only_for_recorded_spans_whatever_the_sampler() {
    let unsampled_parent = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    let sampled_parent = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    )]);
    let none = HashMap::new();
    // (sampler, arg, carrier, recorded): predicted decisions and the SDK-only path.
    let cases = [
        ("always_off", None, &none, false),
        ("parentbased_always_off", None, &none, false),
        ("parentbased_always_on", None, &unsampled_parent, false),
        ("traceidratio", Some("0"), &none, false),
        ("always_on", None, &none, true),
        ("parentbased_always_off", None, &sampled_parent, true),
        ("traceidratio", Some("1"), &none, true),
    ];
    for (sampler, arg, carrier, recorded) in cases {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", sampler)];
        if let Some(arg) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
        }
        let _env = env(&vars);
        let (telemetry, kept) = install_kept();
        let before = EVALUATED.load(std::sync::atomic::Ordering::SeqCst);
        counted_work(5, carrier);
        telemetry.flush();
        let evaluated = EVALUATED.load(std::sync::atomic::Ordering::SeqCst) - before;
        let spans = kept.spans();
        assert_eq!(
            evaluated,
            usize::from(recorded),
            "{sampler} {arg:?}: attribute evaluations"
        );
        assert_eq!(spans.len(), usize::from(recorded), "{sampler} {arg:?}");
        if recorded {
            assert_eq!(spans[0].name, "counted.5");
            assert_eq!(spans[0].attr("x"), Some(&Value::I64(5)));
        }
        drop(telemetry);
    }
}

#[test]
fn enumerated_values_are_case_insensitive() {
    for (name, records) in [("Always_On", true), ("ALWAYS_OFF", false)] {
        let _env = env(&[("OTEL_TRACES_SAMPLER", name)]);
        let (telemetry, kept) = install_kept();
        work();
        telemetry.flush();
        assert_eq!(kept.spans().len(), usize::from(records), "{name}");
    }
    let _env = env(&[
        ("OTEL_PROPAGATORS", "TraceContext,Baggage"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    let telemetry = spanwright::init().expect("mixed case accepted");
    let (outgoing, _) = spanwright::testing::capture(|| carry(&incoming()));
    assert!(outgoing.contains_key("traceparent"), "{outgoing:?}");
    drop(telemetry);
}

#[test]
fn no_secret_leaves_through_an_error_or_describe() {
    // An invalid header list: its keys are named, never its values.
    let _env = env(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x-api-key=sk-live-0123456789,bad tenant=a",
    )]);
    let error = invalid(spanwright::init());
    assert!(!error.contains("sk-live-0123456789"), "{error}");
    assert!(
        error.contains("x-api-key") && error.contains("bad tenant"),
        "{error}"
    );
    let debug = format!("{:?}", spanwright::init().unwrap_err());
    assert!(!debug.contains("sk-live"), "{debug}");
    drop(_env);
    // A pair without `=` may be a pasted token: not shown either.
    let _env = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "Bearer-sk-live-0123456789")]);
    let error = invalid(spanwright::init());
    assert!(!error.contains("sk-live"), "{error}");
    drop(_env);
    // An endpoint with user info: neither describe nor an error shows it.
    let _env = env(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://admin:hunter2-secret@collector:4318",
    )]);
    let described = spanwright::init().unwrap().describe();
    assert!(
        described.contains(
            "otlp.endpoint = http://collector:4318/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT)"
        ),
        "{described}"
    );
    assert!(!described.contains("hunter2"), "{described}");
    drop(_env);
    let _env = env(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://admin:hunter2-secret@coll ector:4318",
    )]);
    let error = invalid(spanwright::init());
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn init_error_debug_reads_like_display() {
    let _env = env(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
    let error = spanwright::init().unwrap_err();
    assert_eq!(format!("{error:?}"), error.to_string());
}

#[test]
fn describe_says_where_the_endpoint_came_from() {
    let _env = env(&[]);
    let described = spanwright::init().unwrap().describe();
    assert!(
        described.contains("(default)") && described.contains("otlp.endpoint = http://localhost:"),
        "{described}"
    );
    drop(_env);
    let _env = env(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://specific:4318/v1/traces",
    )]);
    let described = spanwright::init().unwrap().describe();
    assert!(
        described.contains(
            "otlp.endpoint = http://specific:4318/v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
        ),
        "{described}"
    );
}

#[test]
fn dropping_puts_back_the_global_provider_it_replaced() {
    use spanwright::opentelemetry::global;
    use spanwright::opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use spanwright::opentelemetry_sdk::trace::SdkTracerProvider;
    let _env = env(&[("OTEL_TRACES_EXPORTER", "none")]);
    let services = Kept::default();
    let own = SdkTracerProvider::builder()
        .with_simple_exporter(services.clone())
        .build();
    global::set_tracer_provider(own.clone());
    let telemetry = spanwright::init().unwrap();
    drop(telemetry);
    global::tracer("service").in_span("after", |_| {});
    let _ = own.force_flush();
    assert_eq!(
        services
            .spans()
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>(),
        ["after"],
        "hand-written code records through the service's own provider again"
    );
    global::set_tracer_provider(spanwright::opentelemetry::trace::noop::NoopTracerProvider::new());
    let _ = own.tracer("unused");
}
