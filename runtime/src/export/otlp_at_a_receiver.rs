//! The encoder's bytes as a real receiver reads them: the same spans sent to one
//! Rotel three times, by the SDK's own OTLP exporter (opentelemetry-otlp over
//! gRPC, converting through the `opentelemetry-proto` types) and by
//! spanwright's gRPC and HTTP/protobuf exporters, must be printed identically, field by field
//! (ids, parents, times, kinds, typed attributes, events, links, status,
//! resource, scopes). Both what spanwright encodes: the SDK's `SpanData` (spans
//! of hand-written SDK code), and its own records, against the `SpanData` made
//! from them. Skips with one line without Rotel (`bash .ci/run`
//! installs it), unless `SPANWRIGHT_REQUIRE_SERVICES` is set.

use crate::setup::otlp_settings::{OtlpProtocol, OtlpSettings};
use opentelemetry_sdk::trace::SpanExporter as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rotel_agent() -> Option<String> {
    let found = Command::new("python3")
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    if found.is_none() {
        let line = "skipped: Rotel (pip install --pre rotel==0.0.1a15) is not installed; \
                    `bash .ci/run` installs it and runs this test";
        assert!(
            std::env::var_os("SPANWRIGHT_REQUIRE_SERVICES").is_none(),
            "{line}"
        );
        // Straight to the stream: libtest captures the print macros of a passing test.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
    }
    found
}

struct Rotel {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn start(agent: &str, grpc: u16, http: u16) -> Rotel {
    let mut child = Command::new(agent)
        .args([
            "start",
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc}"),
        ])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--exporter", "blackhole", "--debug-log", "traces"])
        .args(["--debug-log-verbosity", "detailed"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rotel-agent");
    let output = Arc::new(Mutex::new(String::new()));
    let streams: [Box<dyn std::io::Read + Send>; 2] = [
        Box::new(child.stdout.take().unwrap()),
        Box::new(child.stderr.take().unwrap()),
    ];
    for stream in streams {
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
    }
    let rotel = Rotel { child, output };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", http)).is_err()
    {
        assert!(
            Instant::now() < deadline,
            "rotel did not listen: {}",
            rotel.output.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    rotel
}

/// The span blocks Rotel printed, from the first `ResourceSpans` on, one entry
/// per received request, without the log lines around them.
fn requests(output: &str) -> Vec<String> {
    let mut requests: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("ResourceSpans #0") {
            requests.extend(current.take());
            current = Some(String::new());
        }
        // A log line (time stamp, level) ends a block.
        if line.starts_with("20") && (line.contains(" INFO ") || line.contains(" WARN ")) {
            if !trimmed.contains("ResourceSpans #0") {
                requests.extend(current.take());
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            block.push_str(trimmed);
            block.push('\n');
        }
    }
    requests.extend(current);
    requests
}

fn queued(
    spans: &[opentelemetry_sdk::trace::SpanData],
) -> Vec<crate::pipeline::finished::Finished> {
    spans
        .iter()
        .map(|span| crate::pipeline::finished::Finished::Sdk(Box::new(span.clone())))
        .collect()
}

fn span_count(request: &str) -> usize {
    request.lines().filter(|l| l.starts_with("Span #")).count()
}

#[test]
fn a_real_receiver_reads_the_encoder_as_it_reads_the_sdk() {
    let spans = crate::pipeline::encoder::tests::spans();
    compare_at_rotel(&spans, &|| queued(&spans));
}

/// spanwright's own records (a source location kept as the site, strings held
/// in place, a job's attributes kept apart) against the SDK's exporter sending
/// the `SpanData` made from them.
#[test]
fn a_real_receiver_reads_records_as_it_reads_their_span_data() {
    let records = crate::pipeline::record::tests::varied();
    let spans: Vec<_> = records.iter().map(|r| r.clone().into_span_data()).collect();
    compare_at_rotel(&spans, &|| {
        records
            .iter()
            .map(|r| crate::pipeline::finished::Finished::Record(r.clone()))
            .collect()
    });
}

/// Sends `spans` through the SDK's exporter (gRPC), and `ours_batch()` through
/// spanwright's gRPC and HTTP/protobuf exporters, to one Rotel; what Rotel
/// printed for each must be the same, line by line.
fn compare_at_rotel(
    spans: &[opentelemetry_sdk::trace::SpanData],
    ours_batch: &dyn Fn() -> Vec<crate::pipeline::finished::Finished>,
) {
    let Some(agent) = rotel_agent() else { return };
    let per_request = spans.len();
    let (grpc, http) = free_ports();
    let rotel = start(&agent, grpc, http);
    let resource = crate::pipeline::encoder::tests::resource();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // The SDK's exporter, over gRPC.
    runtime.block_on(async {
        use opentelemetry_otlp::WithExportConfig as _;
        let mut sdk = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://127.0.0.1:{grpc}"))
            .build()
            .unwrap();
        sdk.set_resource(&resource);
        sdk.export(spans.to_vec()).await.unwrap();
    });
    // Rotel prints a request line by line: it is all there once the output has
    // stopped growing for a while.
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut before = String::new();
        loop {
            let output = rotel.output.lock().unwrap().clone();
            let seen = requests(&output);
            if seen.len() >= count
                && seen.iter().all(|r| span_count(r) == per_request)
                && output == before
            {
                return seen;
            }
            before = output;
            assert!(
                Instant::now() < deadline,
                "{count} requests at rotel: {}",
                rotel.output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait_for(1);

    // Ours, over gRPC, then over HTTP/protobuf, gzipped.
    let grpc_settings = OtlpSettings {
        signal: crate::setup::otlp_settings::Signal::Traces,
        protocol: OtlpProtocol::Grpc,
        endpoint: format!("http://127.0.0.1:{grpc}"),
        endpoint_source: "code",
        https_assumed: false,
        headers: vec![("x-tenant".into(), "a".into())],
        gzip: false,
        timeout: Duration::from_secs(10),
        certificate: None,
        client_identity: None,
    };
    runtime.block_on(async {
        let ours = super::otlp::build(grpc_settings, None)
            .unwrap()
            .with_resource(resource.clone());
        ours.export(&ours_batch()).await.unwrap();
    });
    wait_for(2);
    let settings = OtlpSettings {
        signal: crate::setup::otlp_settings::Signal::Traces,
        protocol: OtlpProtocol::HttpProtobuf,
        endpoint: format!("http://127.0.0.1:{http}/v1/traces"),
        endpoint_source: "code",
        https_assumed: false,
        headers: Vec::new(),
        gzip: true,
        timeout: Duration::from_secs(10),
        certificate: None,
        client_identity: None,
    };
    runtime.block_on(async {
        let ours = super::otlp::build(settings, None)
            .unwrap()
            .with_resource(resource.clone());
        ours.export(&ours_batch()).await.unwrap();
    });
    let seen = wait_for(3);
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert_eq!(span_count(&seen[0]), per_request, "every span: {}", seen[0]);
    for ours in &seen[1..] {
        // Line by line, so that a difference names its field.
        for (sdk_line, our_line) in seen[0].lines().zip(ours.lines()) {
            assert_eq!(our_line, sdk_line, "\nSDK:\n{}\nours:\n{ours}", seen[0]);
        }
        assert_eq!(*ours, seen[0]);
    }
}
