//! Attribute keys: syntax, sensitive names, and "did you mean" suggestions.

/// Keys spanwright sets itself on every span.
pub(crate) const LOCATION_KEYS: &[&str] =
    &["code.function.name", "code.file.path", "code.line.number"];
/// Keys spanwright sets when the outcome calls for it.
pub(crate) const OUTCOME_KEYS: &[&str] = &["error.type", "return.value", "cancelled"];
/// Keys `#[traced_job]` sets at the end of every job.
pub(crate) const JOB_END_KEYS: &[&str] = &["job.status", "job.duration_ms"];

const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "credentials",
    "private_key",
];

/// What is wrong with `key` as an attribute key, if anything. Keys are dot-separated
/// segments of lower-case ASCII letters, digits and `_`, as in the OpenTelemetry
/// semantic conventions; upper case is refused with the lower-case spelling offered.
pub(crate) fn syntax_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("attribute key is empty".into());
    }
    if key.starts_with('.') || key.ends_with('.') {
        return Some(format!("attribute key `{key}` starts or ends with a dot"));
    }
    if key.contains("..") {
        return Some(format!("attribute key `{key}` has an empty segment (`..`)"));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.'))
    {
        let lower = key.to_ascii_lowercase();
        let hint = if bad.is_ascii_uppercase()
            && lower
                .chars()
                .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.'))
        {
            format!("; attribute keys are lower case: write `{lower}`")
        } else {
            "; use lower-case letters, digits and `_` in dot-separated segments, like `http.status_code`".into()
        };
        return Some(format!("attribute key `{key}` contains `{bad}`{hint}"));
    }
    None
}

/// The segment of `key` that names sensitive data, if any.
pub(crate) fn sensitive_segment(key: &str) -> Option<&'static str> {
    key.split('.').find_map(|segment| {
        SENSITIVE
            .iter()
            .find(|s| segment.eq_ignore_ascii_case(s))
            .copied()
    })
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.len() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting an insertion, deletion, substitution or swap of two
/// neighbouring characters as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(syntax_problem("job.id"), None);
        assert_eq!(syntax_problem("http.status_code"), None);
        assert!(syntax_problem("job..id").unwrap().contains("empty segment"));
        assert!(syntax_problem(".job").unwrap().contains("dot"));
        assert!(syntax_problem("Job.Id").unwrap().contains("write `job.id`"));
        assert!(syntax_problem("job-id").unwrap().contains("`-`"));
    }

    #[test]
    fn sensitive() {
        assert_eq!(sensitive_segment("user.password"), Some("password"));
        assert_eq!(sensitive_segment("auth.api_key"), Some("api_key"));
        assert_eq!(sensitive_segment("auth.api_key_present"), None);
        assert_eq!(sensitive_segment("tokens.count"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("nmae", &["name", "kind"]), Some("name"));
        assert_eq!(did_you_mean("atrs", &["attrs", "ret"]), Some("attrs"));
        assert_eq!(did_you_mean("colour", &["name", "kind"]), None);
        assert_eq!(
            did_you_mean("status_okk", &["status_ok", "ret"]),
            Some("status_ok")
        );
        assert_eq!(edit_distance("kind", "kind"), 0);
        assert_eq!(edit_distance("abc", "acb"), 1);
    }
}
