//! Export in production, against real components: certificates made with the
//! openssl CLI at test time, nginx (Debian's) terminating TLS in front of Rotel
//! (`grpc_pass` for gRPC, `proxy_pass` for HTTP/protobuf), answering 401 without
//! the API key header and, in one variant, verifying client certificates. nginx's
//! access log proves what the exporter sent. The exporter runs in a child process
//! (`tests/bin/overload.rs`) configured only by `OTEL_*` variables.
//!
//! Needs `nginx`, `openssl` and Rotel (the README's test command installs them);
//! without them each test says so in one line and passes (see
//! `spanwright_tests::services`).

#[allow(dead_code)] // the shared helpers serve several test binaries
mod receivers;

use receivers::rotel::Rotel;
use receivers::{free_port, wait_for};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const API_KEY: &str = "s3cret value";
const API_KEY_ENCODED: &str = "s3cret%20value";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("spanwright-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A throwaway CA, a server certificate for 127.0.0.1 and a client certificate,
/// both signed by it, and a second CA nobody trusts (EC keys: quick to make).
fn certificates(dir: &TempDir) {
    let d = &dir.0;
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let run = |line: String| openssl(d, &line.split(' ').collect::<Vec<_>>());
    for ca in ["ca", "other-ca"] {
        run(format!(
            "req -x509 {ec} -keyout {ca}.key -out {ca}.pem -days 2 -subj /CN=spanwright-test-{ca}"
        ));
    }
    for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        run(format!(
            "req {ec} -keyout {name}.key -out {name}.csr -subj /CN=127.0.0.1"
        ));
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!(
                "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
            ),
        )
        .unwrap();
        run(format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out {name}.pem -days 2 -extfile {name}.ext"
        ));
    }
}

/// nginx in the foreground with its own config, stopped on drop.
struct Nginx {
    child: Child,
    port: u16,
    log: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Upstream {
    Grpc,
    Http,
}

impl Nginx {
    fn start(dir: &TempDir, rotel: &Rotel, upstream: Upstream, verify_client: bool) -> Self {
        let port = free_port();
        let log = dir.path("access.log");
        let pass = match upstream {
            Upstream::Grpc => format!("grpc_pass grpc://127.0.0.1:{};", rotel.grpc_port),
            Upstream::Http => format!(
                "proxy_http_version 1.1; proxy_pass http://127.0.0.1:{};",
                rotel.http_port
            ),
        };
        let verify = if verify_client {
            format!(
                "ssl_client_certificate {}; ssl_verify_client on;",
                dir.path("ca.pem")
            )
        } else {
            String::new()
        };
        let conf = format!(
            r#"daemon off;
master_process off;
pid {pid};
error_log {error} info;
events {{}}
http {{
    log_format probe '$status|$ssl_client_verify|$http_x_api_key|$http_content_encoding|$http_grpc_encoding|$request_uri|$http_grpc_accept_encoding';
    access_log {log} probe;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {verify}
        location / {{
            if ($http_x_api_key != "{API_KEY}") {{ return 401; }}
            {pass}
        }}
    }}
}}
"#,
            pid = dir.path("nginx.pid"),
            error = dir.path("error.log"),
            tmp = dir.0.display(),
            cert = dir.path("server.pem"),
            key = dir.path("server.key"),
        );
        let conf_path = dir.path("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("nginx")
            .args([
                "-p",
                &dir.0.to_string_lossy(),
                "-c",
                &conf_path,
                "-e",
                &dir.path("error.log"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        wait_for(Duration::from_secs(20), "nginx to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Nginx { child, port, log }
    }

    /// Access log lines: status, client verification, API key, Content-Encoding,
    /// grpc-encoding, URI.
    fn requests(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    stats: HashMap<String, u64>,
    stdout: String,
    stderr: String,
}

/// Runs the exporting child with `envs` (and nothing else from `OTEL_*`).
fn export(envs: &[(&str, String)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_overload"));
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    // The operating system's trust store only as a test sets it.
    command
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    command.env("SPANS", "3").env("THREADS", "1");
    for (k, v) in envs {
        command.env(k, v);
    }
    let output = command.output().expect("run overload");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stats = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stats "))
        .map(|line| {
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    Run {
        stats,
        stdout,
        stderr,
    }
}

struct Setup {
    dir: TempDir,
    rotel: Rotel,
    nginx: Nginx,
    service: String,
}

fn setup(name: &str, upstream: Upstream, verify_client: bool) -> Option<Setup> {
    if !spanwright_tests::services::nginx_and_openssl() || !spanwright_tests::services::rotel() {
        return None;
    }
    let dir = TempDir::new(name);
    certificates(&dir);
    let rotel = Rotel::start();
    let nginx = Nginx::start(&dir, &rotel, upstream, verify_client);
    Some(Setup {
        dir,
        rotel,
        nginx,
        service: format!("tls-{name}-{}", std::process::id()),
    })
}

impl Setup {
    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.nginx.port)
    }

    /// The usual variables: endpoint, protocol, CA, API key, service name.
    fn envs(&self, protocol: &str) -> Vec<(&'static str, String)> {
        vec![
            ("OTEL_SERVICE_NAME", self.service.clone()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", self.dir.path("ca.pem")),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("x-api-key={API_KEY_ENCODED}"),
            ),
        ]
    }

    fn received(&self, count: usize) {
        wait_for(
            Duration::from_secs(20),
            &format!("{count} spans of {} at rotel", self.service),
            || {
                let n = self
                    .rotel
                    .spans()
                    .iter()
                    .filter(|s| s.service_name == self.service)
                    .count();
                (n >= count).then_some(())
            },
        );
    }
}

fn with(
    mut envs: Vec<(&'static str, String)>,
    changes: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    for (key, value) in changes {
        envs.retain(|(k, _)| k != key);
        if !value.is_empty() {
            envs.push((key, value.to_string()));
        }
    }
    envs
}

fn exported_all(run: &Run) {
    assert_eq!(
        run.stats.get("exported"),
        Some(&3),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.stats.get("failures"), Some(&0), "{}", run.stderr);
}

fn failed_and_reported(run: &Run, needle: &str) {
    assert_eq!(
        run.stats.get("exported"),
        Some(&0),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stats.get("failures").is_some_and(|&f| f >= 1),
        "{:?}",
        run.stats
    );
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("failed ("))
        .collect();
    assert_eq!(lines.len(), 1, "one line for the failure:\n{}", run.stderr);
    assert!(
        lines[0].contains(needle),
        "{needle:?} not in {:?}",
        lines[0]
    );
}

/// Exports over TLS with the API key and gzip; returns the access log's 200 line.
fn tls_gzip_round_trip(name: &str, upstream: Upstream, protocol: &str) -> Option<Vec<String>> {
    let s = setup(name, upstream, false)?;
    let run = export(&with(
        s.envs(protocol),
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
    ));
    exported_all(&run);
    s.received(3);
    let requests = s.nginx.requests();
    eprintln!("nginx access log: {requests:?}");
    let ok = requests
        .iter()
        .find(|r| r[0] == "200")
        .expect("a 200 in the access log")
        .clone();
    assert_eq!(ok[2], API_KEY, "the key arrives percent-decoded");
    Some(ok)
}

#[test]
fn grpc_over_tls_with_an_api_key_and_gzip() {
    let Some(ok) = tls_gzip_round_trip("grpc", Upstream::Grpc, "grpc") else {
        return;
    };
    assert_eq!(ok[4], "gzip", "grpc-encoding");
    assert!(ok[5].ends_with("TraceService/Export"), "{ok:?}");
    // A server may answer compressed (grpc-go does): the client accepts it.
    assert!(ok[6].contains("gzip"), "grpc-accept-encoding: {ok:?}");
}

#[test]
fn http_over_tls_with_an_api_key_and_gzip() {
    let Some(ok) = tls_gzip_round_trip("http", Upstream::Http, "http/protobuf") else {
        return;
    };
    assert_eq!(ok[3], "gzip", "Content-Encoding");
    assert_eq!(ok[5], "/v1/traces");
}

#[test]
fn without_compression_nothing_is_compressed_and_values_are_case_insensitive() {
    let Some(s) = setup("case", Upstream::Grpc, false) else {
        return;
    };
    let run = export(&with(
        s.envs("GRPC"),
        &[
            ("OTEL_TRACES_EXPORTER", "OTLP"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "None"),
        ],
    ));
    exported_all(&run);
    let requests = s.nginx.requests();
    let ok = requests.iter().find(|r| r[0] == "200").expect("a 200");
    assert_eq!(ok[4], "-", "no grpc-encoding without compression");
    assert_eq!(ok[6], "-", "no grpc-accept-encoding without compression");
}

#[test]
fn an_untrusted_ca_fails_fast_and_is_reported() {
    let Some(s) = setup("untrusted", Upstream::Grpc, false) else {
        return;
    };
    for protocol in ["grpc", "http/protobuf"] {
        let started = std::time::Instant::now();
        let run = export(&with(
            s.envs(protocol),
            &[(
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                &s.dir.path("other-ca.pem"),
            )],
        ));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{protocol}: took {:?}",
            started.elapsed()
        );
        failed_and_reported(&run, &s.endpoint());
    }
    assert!(
        s.nginx.requests().iter().all(|r| r[0] != "200"),
        "nothing got through"
    );
}

#[test]
fn mutual_tls() {
    let Some(s) = setup("mtls", Upstream::Grpc, true) else {
        return;
    };
    let identity = [
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            s.dir.path("client.pem"),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", s.dir.path("client.key")),
    ];
    let mut envs = s.envs("grpc");
    envs.extend(identity.iter().cloned());
    exported_all(&export(&envs));
    s.received(3);
    assert!(
        s.nginx
            .requests()
            .iter()
            .any(|r| r[0] == "200" && r[1] == "SUCCESS"),
        "{:?}",
        s.nginx.requests()
    );
    // Without the client certificate, nginx refuses.
    let run = export(&s.envs("grpc"));
    assert_eq!(run.stats.get("exported"), Some(&0), "{}", run.stderr);
    assert!(run.stats.get("failures").is_some_and(|&f| f >= 1));
}

#[test]
fn mutual_tls_over_http() {
    let Some(s) = setup("mtls-http", Upstream::Http, true) else {
        return;
    };
    let mut envs = s.envs("http/protobuf");
    envs.push((
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        s.dir.path("client.pem"),
    ));
    envs.push((
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        s.dir.path("client.key"),
    ));
    exported_all(&export(&envs));
    assert!(
        s.nginx
            .requests()
            .iter()
            .any(|r| r[0] == "200" && r[1] == "SUCCESS")
    );
}

#[test]
fn a_missing_api_key_is_a_401_counted_and_reported() {
    let Some(s) = setup("no-key", Upstream::Http, false) else {
        return;
    };
    let run = export(&with(
        s.envs("http/protobuf"),
        &[("OTEL_EXPORTER_OTLP_HEADERS", "")],
    ));
    failed_and_reported(&run, "401");
    assert!(
        s.nginx.requests().iter().all(|r| r[0] == "401"),
        "{:?}",
        s.nginx.requests()
    );
}

#[test]
fn the_traces_header_wins_over_the_generic_one() {
    let Some(s) = setup("traces-header", Upstream::Grpc, false) else {
        return;
    };
    let run = export(&with(
        s.envs("grpc"),
        &[
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=wrong"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                &format!("x-api-key={API_KEY_ENCODED}"),
            ),
        ],
    ));
    exported_all(&run);
    assert!(
        s.nginx.requests().iter().all(|r| r[2] == API_KEY),
        "{:?}",
        s.nginx.requests()
    );
}

#[test]
fn otlp_and_console_together() {
    let Some(s) = setup("both", Upstream::Grpc, false) else {
        return;
    };
    let run = export(&with(
        s.envs("grpc"),
        &[("OTEL_TRACES_EXPORTER", "otlp,console")],
    ));
    s.received(3);
    assert!(
        run.stderr.contains("unit_of_work"),
        "the console drew the spans (on stderr):\n{}",
        run.stderr
    );
    // Each span counts once per exporter.
    assert_eq!(run.stats.get("exported"), Some(&6), "{}", run.stderr);
}

/// With `tls-native-roots`, a CA in the operating system's store (here through
/// `SSL_CERT_FILE`, which the store honours) is trusted without
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`, over both protocols.
#[test]
fn the_operating_system_trust_store_is_used() {
    for (protocol, upstream) in [("grpc", Upstream::Grpc), ("http/protobuf", Upstream::Http)] {
        let name = format!("native-{}", protocol.replace('/', "-"));
        let Some(s) = setup(&name, upstream, false) else {
            return;
        };
        let envs = with(s.envs(protocol), &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "")]);
        // Neither the environment nor the public roots know the test CA.
        failed_and_reported(&export(&envs), "");
        let mut trusted = envs.clone();
        trusted.push(("SSL_CERT_FILE", s.dir.path("ca.pem")));
        exported_all(&export(&trusted));
        s.received(3);
    }
}

#[test]
fn a_missing_certificate_file_is_an_init_error() {
    // No services needed: the child fails at init.
    let output = Command::new(env!("CARGO_BIN_EXE_overload"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:4317")
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_CERTIFICATE=\"/nonexistent/ca.pem\" is not valid: a readable PEM file"),
        "{stderr}"
    );
}
