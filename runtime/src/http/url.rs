//! What a client span says of the URL it calls: `url.full` without what must not
//! be recorded, and the server's address and port.

/// Query parameters whose values are secrets: the HTTP conventions' list
/// (signed URLs of AWS and Google Cloud, Azure's `sig`) and the names
/// spanwright treats as sensitive everywhere.
const SECRET_PARAMETERS: [&str; 18] = [
    "awsaccesskeyid",
    "signature",
    "sig",
    "x-goog-signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "password",
    "secret",
    "key",
    "client_secret",
    "refresh_token",
    "id_token",
    "code",
];

/// The parts of a request's URL a client span records.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    /// `url.full`: a user name and password replaced by `REDACTED:REDACTED`,
    /// the values of secret query parameters by `REDACTED` (the HTTP
    /// conventions); no fragment (never sent).
    pub(super) full: String,
    /// `server.address`: the host, IPv6 without brackets.
    pub(super) address: Option<String>,
    /// `server.port`: explicit, or the scheme's default.
    pub(super) port: Option<u16>,
}

/// Splits an absolute URL (`scheme://[user[:password]@]host[:port]/path?query`).
/// A relative one (a path only) gives no address and itself as `url.full`.
pub(super) fn target(url: &str) -> Target {
    let url = url.split('#').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Target {
            full: redact_query(url),
            address: None,
            port: None,
        };
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    // The last `@` ends the credentials (a password may hold an `@`).
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((_, host_port)) => ("REDACTED:REDACTED@", host_port),
        None => ("", authority),
    };
    let (host, port) = split_host_port(host_port);
    let port = port.or(match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    });
    Target {
        full: format!("{scheme}://{credentials}{host_port}{}", redact_query(path)),
        address: (!host.is_empty()).then(|| host.to_owned()),
        port,
    }
}

fn split_host_port(host_port: &str) -> (&str, Option<u16>) {
    if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (host_port, None),
        },
        None => (host_port, None),
    }
}

/// `path?query` with the values of secret parameters replaced.
fn redact_query(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_owned();
    };
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret(key) => format!("{key}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

fn is_secret(key: &str) -> bool {
    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
    SECRET_PARAMETERS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_secrets_are_not_recorded() {
        let t = target("https://user:p@ss@api.example.com/v1/items?id=7&token=abc&Signature=x#top");
        assert_eq!(
            t.full,
            "https://REDACTED:REDACTED@api.example.com/v1/items?id=7&token=REDACTED&Signature=REDACTED"
        );
        assert_eq!(t.address.as_deref(), Some("api.example.com"));
        assert_eq!(t.port, Some(443));
    }

    #[test]
    fn ports_and_hosts() {
        let t = target("http://127.0.0.1:8080/health");
        assert_eq!(
            (t.address.as_deref(), t.port),
            (Some("127.0.0.1"), Some(8080))
        );
        let t = target("http://[::1]:50051/grpc.health.v1.Health/Check");
        assert_eq!((t.address.as_deref(), t.port), (Some("::1"), Some(50051)));
        assert_eq!(t.full, "http://[::1]:50051/grpc.health.v1.Health/Check");
        let t = target("http://example.com");
        assert_eq!(
            (t.address.as_deref(), t.port),
            (Some("example.com"), Some(80))
        );
        let t = target("/only/a/path?password=x");
        assert_eq!(t.address, None);
        assert_eq!(t.full, "/only/a/path?password=REDACTED");
    }
}
