//! The OTLP exporter's settings from `OTEL_EXPORTER_OTLP_*`, each read by
//! spanwright (the exporter alone ignores the certificate variables, and a bad
//! value of the others silently): the `OTEL_EXPORTER_OTLP_TRACES_*` form wins
//! over the generic one, enumerated values are case-insensitive, and a bad value
//! or an unreadable certificate is an [`InitError`] naming the variable.

use crate::setup::env::env_var;
use crate::setup::error::InitError;
use std::time::Duration;

/// The OTLP transport, from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or
/// `OTEL_EXPORTER_OTLP_PROTOCOL`, or set in code. The default is `http/protobuf`
/// (as the OpenTelemetry specification says) when this build has it, `grpc`
/// when it has only `otlp-grpc`.
///
/// ```
/// assert_eq!(spanwright::OtlpProtocol::Grpc, spanwright::OtlpProtocol::Grpc);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC, usually port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, usually port 4318.
    HttpProtobuf,
}

impl OtlpProtocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The default of this build.
    fn default_for_build() -> Self {
        if cfg!(feature = "otlp-http") {
            OtlpProtocol::HttpProtobuf
        } else {
            OtlpProtocol::Grpc
        }
    }
}

/// Everything the exporter is built with.
#[derive(Debug, Clone)]
pub(crate) struct OtlpSettings {
    /// What the exporter sends: spans or metrics (over HTTP, the URL says).
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    pub(crate) signal: Signal,
    pub(crate) protocol: OtlpProtocol,
    /// The full URL spans are sent to.
    pub(crate) endpoint: String,
    /// Where the endpoint came from, for `Telemetry::describe`.
    pub(crate) endpoint_source: &'static str,
    /// The endpoint had no scheme and `https://` was assumed.
    pub(crate) https_assumed: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) gzip: bool,
    pub(crate) timeout: Duration,
    /// PEM: a CA to trust besides the public roots.
    pub(crate) certificate: Option<Vec<u8>>,
    /// PEM: the client certificate chain and key, for mutual TLS.
    pub(crate) client_identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// The signal an exporter sends: its variables' `TRACES_`/`METRICS_` forms and
/// its OTLP/HTTP path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    Metrics,
}

impl Signal {
    /// `/v1/traces` or `/v1/metrics`: what an HTTP base URL gets.
    pub(crate) fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        }
    }
}

/// Each setting's suffix, with its traces, metrics and generic variable.
macro_rules! variables {
    ($($suffix:literal),* $(,)?) => {
        &[$((
            $suffix,
            concat!("OTEL_EXPORTER_OTLP_TRACES_", $suffix),
            concat!("OTEL_EXPORTER_OTLP_METRICS_", $suffix),
            concat!("OTEL_EXPORTER_OTLP_", $suffix),
        )),*]
    };
}

const VARIABLES: &[(&str, &str, &str, &str)] = variables!(
    "ENDPOINT",
    "PROTOCOL",
    "HEADERS",
    "COMPRESSION",
    "TIMEOUT",
    "INSECURE",
    "CERTIFICATE",
    "CLIENT_KEY",
    "CLIENT_CERTIFICATE",
);

/// The signal's and the generic name of the setting `suffix`.
fn names(signal: Signal, suffix: &str) -> (&'static str, &'static str) {
    let (_, traces, metrics, generic) = VARIABLES
        .iter()
        .find(|(known, ..)| *known == suffix)
        .unwrap_or_else(|| unreachable!("unknown OTLP variable {suffix}"));
    match signal {
        Signal::Traces => (traces, generic),
        Signal::Metrics => (metrics, generic),
    }
}

/// The value of the signal's form of `suffix`, else the generic one, with its name.
fn var(signal: Signal, suffix: &str) -> Option<(&'static str, String)> {
    let (specific, generic) = names(signal, suffix);
    env_var(specific)
        .map(|v| (specific, v))
        .or_else(|| env_var(generic).map(|v| (generic, v)))
}

fn invalid(variable: &'static str, value: String, accepted: &str) -> InitError {
    InitError::InvalidVariable {
        variable,
        value,
        accepted: accepted.into(),
    }
}

/// The protocol the environment asks for (case-insensitive), or the default.
pub(crate) fn protocol_from_env(signal: Signal) -> Result<OtlpProtocol, InitError> {
    let Some((variable, value)) = var(signal, "PROTOCOL") else {
        return Ok(OtlpProtocol::default_for_build());
    };
    match value.to_ascii_lowercase().as_str() {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        _ => Err(invalid(variable, value, "grpc or http/protobuf")),
    }
}

/// Where the signal goes: the endpoint set in code, else the signal's variable
/// as it is, else the generic one (with `/v1/traces` or `/v1/metrics` for HTTP),
/// else the default. An endpoint without a scheme is `https://` unless
/// `OTEL_EXPORTER_OTLP_INSECURE` is true.
fn resolve_endpoint(
    signal: Signal,
    protocol: OtlpProtocol,
    in_code: Option<String>,
) -> Result<(String, &'static str, bool), InitError> {
    let http = protocol == OtlpProtocol::HttpProtobuf;
    let (specific_name, generic_name) = names(signal, "ENDPOINT");
    let specific = env_var(specific_name);
    let (endpoint, is_base, source) = match (in_code, specific) {
        (Some(endpoint), _) => (endpoint, true, "code"),
        (None, Some(endpoint)) => (endpoint, false, specific_name),
        (None, None) => match env_var(generic_name) {
            Some(base) => (base, true, generic_name),
            None if http => ("http://localhost:4318".to_owned(), true, "default"),
            None => ("http://localhost:4317".to_owned(), true, "default"),
        },
    };
    let https_assumed = !endpoint.contains("://");
    let url = if !https_assumed {
        endpoint.clone()
    } else {
        let insecure = match var(signal, "INSECURE") {
            None => false,
            Some((variable, value)) => match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(invalid(variable, value, "true or false")),
            },
        };
        format!("{}://{endpoint}", if insecure { "http" } else { "https" })
    };
    let url = if http && is_base {
        signal_url(&url, signal)
    } else {
        url
    };
    match url.parse::<::http::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            let assumed = https_assumed && url.starts_with("https://");
            Ok((url, source, assumed))
        }
        Ok(_) => Err(not_a_url(source, &endpoint, "not an http or https URL")),
        Err(error) => Err(not_a_url(source, &endpoint, &error.to_string())),
    }
}

fn not_a_url(source: &str, endpoint: &str, why: &str) -> InitError {
    let source = match source {
        "code" => "the endpoint set in code",
        "default" => "the default endpoint",
        variable => variable,
    };
    let endpoint = without_userinfo(endpoint);
    InitError::Exporter(format!(
        "{source} ({endpoint:?}) is not a URL the exporter can reach ({why}); \
         write it like http://collector:4318 or https://collector:4317"
    ))
}

/// `url` without its user info (`user:password@`) and without a query or
/// fragment (which may carry a token): what errors, diagnostics and
/// `Telemetry::describe` show of an endpoint.
pub(crate) fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

impl OtlpSettings {
    /// What must never appear in a line spanwright writes: header values and
    /// the endpoint's user info.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.headers.iter().map(|(_, v)| v.clone()).collect();
        if let Some(rest) = self.endpoint.split_once("://").map(|(_, rest)| rest) {
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                secrets.push(userinfo.to_owned());
                secrets.extend(userinfo.split(':').map(str::to_owned));
            }
        }
        // Short values would blank out ordinary words.
        secrets.retain(|secret| secret.len() >= 4);
        secrets
    }

    /// Where spans go, for diagnostics: no user info, and a hint when `https://`
    /// was assumed for an endpoint written without a scheme.
    pub(crate) fn destination(&self) -> String {
        let mut destination = format!(
            "{} ({})",
            without_userinfo(&self.endpoint),
            self.protocol.name()
        );
        if self.https_assumed {
            destination.push_str(
                "; the endpoint had no scheme, so TLS (https) is used: for a plaintext \
                 collector write http:// or set OTEL_EXPORTER_OTLP_INSECURE=true",
            );
        }
        destination
    }
}

/// A base URL gets the signal's path, unless it has a path already.
pub(crate) fn signal_url(endpoint: &str, signal: Signal) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let has_path = trimmed
        .split("://")
        .nth(1)
        .is_some_and(|rest| rest.contains('/'));
    if has_path {
        trimmed.to_owned()
    } else {
        format!("{trimmed}{}", signal.http_path())
    }
}

/// `key=value,key2=value2`, percent-decoded, keys valid HTTP header names.
fn headers(signal: Signal) -> Result<Vec<(String, String)>, InitError> {
    let Some((variable, value)) = var(signal, "HEADERS") else {
        return Ok(Vec::new());
    };
    let accepted =
        "comma-separated key=value pairs, percent-encoded (x-api-key=secret,tenant=a%20b)";
    // The error names header keys, never values (API keys live there).
    let redacted = || {
        value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{}=<redacted>", key.trim()),
                None => "<redacted>".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut headers = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, raw)) = pair.split_once('=') else {
            return Err(invalid(variable, redacted(), accepted));
        };
        let key = key.trim();
        let decoded = percent_encoding::percent_decode_str(raw.trim()).decode_utf8();
        let valid_name = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        match decoded {
            Ok(decoded) if valid_name && !decoded.contains(['\r', '\n']) => {
                headers.push((key.to_ascii_lowercase(), decoded.into_owned()));
            }
            _ => {
                let why = format!("{accepted}; the pair of key {key:?} is not");
                return Err(invalid(variable, redacted(), &why));
            }
        }
    }
    Ok(headers)
}

fn gzip(signal: Signal) -> Result<bool, InitError> {
    match var(signal, "COMPRESSION") {
        None => Ok(false),
        Some((variable, value)) => match value.to_ascii_lowercase().as_str() {
            "gzip" => Ok(true),
            "none" => Ok(false),
            _ => Err(invalid(variable, value, "gzip or none")),
        },
    }
}

fn timeout(signal: Signal) -> Result<Duration, InitError> {
    match var(signal, "TIMEOUT") {
        None => Ok(Duration::from_secs(10)),
        Some((variable, value)) => value
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| invalid(variable, value, "a whole number of milliseconds")),
    }
}

/// A PEM file the variable names; `None` when unset.
fn pem_file(signal: Signal, suffix: &str) -> Result<Option<Vec<u8>>, InitError> {
    let Some((variable, path)) = var(signal, suffix) else {
        return Ok(None);
    };
    let bytes = std::fs::read(&path).map_err(|error| {
        invalid(
            variable,
            path.clone(),
            &format!("a readable PEM file ({error})"),
        )
    })?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(invalid(
            variable,
            path,
            "a PEM file (no -----BEGIN block found)",
        ));
    }
    Ok(Some(bytes))
}

/// Reads every setting of `signal`'s exporter; `protocol` and `endpoint` set in
/// code win.
pub(crate) fn from_env(
    signal: Signal,
    protocol: Option<OtlpProtocol>,
    endpoint: Option<String>,
) -> Result<OtlpSettings, InitError> {
    let protocol = match protocol {
        Some(protocol) => protocol,
        None => protocol_from_env(signal)?,
    };
    let client_identity = match (
        pem_file(signal, "CLIENT_CERTIFICATE")?,
        pem_file(signal, "CLIENT_KEY")?,
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(InitError::InvalidVariable {
                variable: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                value: String::new(),
                accepted: "the client certificate's key: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is set without it".into(),
            });
        }
        (None, Some(_)) => {
            return Err(InitError::InvalidVariable {
                variable: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                value: String::new(),
                accepted: "the client certificate: OTEL_EXPORTER_OTLP_CLIENT_KEY is set without it"
                    .into(),
            });
        }
    };
    let (endpoint, endpoint_source, https_assumed) = resolve_endpoint(signal, protocol, endpoint)?;
    Ok(OtlpSettings {
        signal,
        protocol,
        endpoint,
        endpoint_source,
        https_assumed,
        headers: headers(signal)?,
        gzip: gzip(signal)?,
        timeout: timeout(signal)?,
        certificate: pem_file(signal, "CERTIFICATE")?,
        client_identity,
    })
}

#[cfg(test)]
mod tests {
    use super::{Signal, signal_url, without_userinfo};

    #[test]
    fn user_info_is_never_shown() {
        assert_eq!(
            without_userinfo("https://user:p%40ss@collector:4317/v1/traces?token=x"),
            "https://collector:4317/v1/traces"
        );
        assert_eq!(
            without_userinfo("http://collector:4318"),
            "http://collector:4318"
        );
        assert_eq!(without_userinfo("token@collector:4317"), "collector:4317");
    }

    #[test]
    fn a_base_url_gets_the_traces_path() {
        assert_eq!(
            signal_url("http://127.0.0.1:4318", Signal::Traces),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            signal_url("http://127.0.0.1:4318/", Signal::Traces),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            signal_url("http://c:4318/custom/v1/traces", Signal::Traces),
            "http://c:4318/custom/v1/traces"
        );
    }

    #[test]
    fn a_base_url_gets_the_metrics_path_for_metrics() {
        assert_eq!(
            signal_url("http://127.0.0.1:4318", Signal::Metrics),
            "http://127.0.0.1:4318/v1/metrics"
        );
        assert_eq!(
            super::names(Signal::Metrics, "HEADERS"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "OTEL_EXPORTER_OTLP_HEADERS"
            )
        );
    }
}
