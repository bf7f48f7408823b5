//! W3C Trace Context (Level 1, and the Level 2 draft's random flag and keys) and
//! W3C Baggage, rule by rule: each valid and invalid example goes through
//! `extract` and through `#[span(parent = ..)]`, and comes back out through
//! `inject`. Then a seeded fuzz run of generated and mutated headers checked
//! against an independent reading of the grammar.

use http::{HeaderMap, HeaderValue};
use spanwright::opentelemetry::baggage::BaggageExt;
use spanwright::opentelemetry::trace::{SpanId, TraceContextExt};
use spanwright::testing::capture;
use std::collections::HashMap;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What `extract` made of a carrier: `(trace id, parent id, flags)` when it
/// continues the trace.
fn continued(carrier: &HashMap<String, String>) -> Option<(String, String, u8)> {
    let cx = spanwright::extract(carrier);
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        assert!(sc.is_remote());
        (
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            sc.trace_flags().to_u8(),
        )
    })
}

#[spanwright::span(kind = server, parent = incoming)]
fn serve(incoming: &HashMap<String, String>) -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    spanwright::inject(&mut outgoing);
    outgoing
}

/// The same carrier through `#[span(parent = ..)]`: the span's trace id and
/// parent, and what the span sends on.
fn through_span(carrier: &HashMap<String, String>) -> (String, SpanId, HashMap<String, String>) {
    let (outgoing, spans) = capture(|| serve(carrier));
    let span = spans.named("serve");
    (
        span.span_context.trace_id().to_string(),
        span.parent_span_id,
        outgoing,
    )
}

fn traceparent(version: &str, trace: &str, parent: &str, flags: &str) -> String {
    format!("{version}-{trace}-{parent}-{flags}")
}

#[test]
fn traceparent_rules() {
    let valid = |tp: &str| traceparent("00", TRACE, PARENT, tp);
    // (header, continued with these flags, or not continued)
    let cases: Vec<(String, Option<u8>, &str)> = vec![
        (valid("01"), Some(0x01), "version 00, sampled"),
        (valid("00"), Some(0x00), "not sampled"),
        (valid("02"), Some(0x02), "Level 2 random flag kept"),
        (valid("03"), Some(0x03), "sampled and random"),
        (
            valid("ff"),
            Some(0x03),
            "unknown flag bits are not propagated",
        ),
        (
            format!(" \t{} \t", valid("01")),
            Some(0x01),
            "spaces and tabs around the value",
        ),
        (
            traceparent("cc", TRACE, PARENT, "01"),
            Some(0x01),
            "a future version",
        ),
        (
            format!("{}-future-fields", traceparent("cc", TRACE, PARENT, "01")),
            Some(0x01),
            "a future version's extra fields",
        ),
        (
            traceparent("fe", TRACE, PARENT, "01"),
            Some(0x01),
            "the highest version",
        ),
        (traceparent("ff", TRACE, PARENT, "01"), None, "version ff"),
        (
            traceparent("0", TRACE, PARENT, "01"),
            None,
            "a one-digit version",
        ),
        (
            traceparent("000", TRACE, PARENT, "01"),
            None,
            "a three-digit version",
        ),
        (
            traceparent("0A", TRACE, PARENT, "01"),
            None,
            "upper-case version",
        ),
        (
            traceparent("00", &TRACE[1..], PARENT, "01"),
            None,
            "a 31-digit trace id",
        ),
        (
            traceparent("00", &format!("{TRACE}0"), PARENT, "01"),
            None,
            "a 33-digit trace id",
        ),
        (
            traceparent("00", TRACE, &PARENT[1..], "01"),
            None,
            "a 15-digit parent id",
        ),
        (
            traceparent("00", TRACE, &format!("{PARENT}0"), "01"),
            None,
            "a 17-digit parent id",
        ),
        (
            traceparent("00", &TRACE.to_uppercase(), PARENT, "01"),
            None,
            "upper-case trace id",
        ),
        (
            traceparent("00", TRACE, &PARENT.to_uppercase(), "01"),
            None,
            "upper-case parent id",
        ),
        (valid("0A"), None, "upper-case flags"),
        (valid("1"), None, "one-digit flags"),
        (valid("001"), None, "three-digit flags"),
        (valid("+1"), None, "a signed flags field"),
        (valid("-1"), None, "a negative flags field"),
        (
            traceparent("00", &"0".repeat(32), PARENT, "01"),
            None,
            "all-zero trace id",
        ),
        (
            traceparent("00", TRACE, &"0".repeat(16), "01"),
            None,
            "all-zero parent id",
        ),
        (
            format!("{}-", valid("01")),
            None,
            "a trailing dash on version 00",
        ),
        (
            format!("{}-extra", valid("01")),
            None,
            "extra fields on version 00",
        ),
        (
            format!("{}extra", traceparent("cc", TRACE, PARENT, "01")),
            None,
            "a future version without the dash",
        ),
        (valid("01").replace('-', "_"), None, "wrong separators"),
        (
            traceparent("00", &TRACE.replace('4', "g"), PARENT, "01"),
            None,
            "a non-hex digit",
        ),
        (String::new(), None, "empty"),
        ("garbage".to_string(), None, "garbage"),
    ];
    for (header, expected, rule) in cases {
        let carrier = headers(&[("traceparent", &header), ("tracestate", "vendor=kept")]);
        match expected {
            Some(flags) => {
                let got = continued(&carrier);
                assert_eq!(
                    got,
                    Some((TRACE.to_string(), PARENT.to_string(), flags)),
                    "{rule}: {header:?}"
                );
                let (trace, parent, outgoing) = through_span(&carrier);
                assert_eq!(trace, TRACE, "{rule}");
                assert_eq!(parent.to_string(), PARENT, "{rule}");
                let sent = &outgoing["traceparent"];
                assert!(sent.starts_with(&format!("00-{TRACE}-")), "{rule}: {sent}");
                // The random flag goes on; the sampled flag is the child's own
                // decision (a capture records every span).
                let sent_flags = (flags & 0x02) | 0x01;
                assert!(
                    sent.ends_with(&format!("-{sent_flags:02x}")),
                    "{rule}: {sent}"
                );
                assert_eq!(outgoing["tracestate"], "vendor=kept", "{rule}");
            }
            None => {
                assert_eq!(continued(&carrier), None, "{rule}: {header:?}");
                let (trace, parent, outgoing) = through_span(&carrier);
                assert_ne!(trace, TRACE, "{rule}");
                assert_eq!(parent, SpanId::INVALID, "{rule}: a new trace");
                // The tracestate of an ignored traceparent is ignored with it.
                assert!(!outgoing.contains_key("tracestate"), "{rule}: {outgoing:?}");
            }
        }
    }
}

/// The tracestate a valid traceparent continues with, as sent on.
fn kept_tracestate(lines: &[&str]) -> Option<String> {
    let mut carrier = HeaderMap::new();
    carrier.insert(
        "traceparent",
        HeaderValue::from_str(&traceparent("00", TRACE, PARENT, "01")).unwrap(),
    );
    for line in lines {
        carrier.append("tracestate", HeaderValue::from_str(line).unwrap());
    }
    let cx = spanwright::extract(&carrier);
    assert!(
        cx.span().span_context().is_valid(),
        "the trace is continued either way"
    );
    let state = cx.span().span_context().trace_state().header();
    (!state.is_empty()).then_some(state)
}

#[test]
fn tracestate_rules() {
    let members = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let long_key = format!("k{}", "x".repeat(255));
    let long_value = "v".repeat(256);
    let cases: Vec<(Vec<String>, Option<String>, &str)> = vec![
        (vec!["foo=1".into()], Some("foo=1".into()), "one member"),
        (
            vec!["foo=1,bar=2".into()],
            Some("foo=1,bar=2".into()),
            "order kept",
        ),
        (
            vec![" foo=1 ,\tbar=2\t".into()],
            Some("foo=1,bar=2".into()),
            "spaces and tabs around members",
        ),
        (
            vec!["foo=1,,bar=2,".into()],
            Some("foo=1,bar=2".into()),
            "empty members",
        ),
        (
            vec!["foo=1".into(), "bar=2".into()],
            Some("foo=1,bar=2".into()),
            "several header lines, combined",
        ),
        (vec![members(32)], Some(members(32)), "32 members"),
        (vec![members(33)], None, "33 members: dropped whole"),
        (
            vec![members(20), members(13).replace('k', "j")],
            None,
            "33 members over two lines",
        ),
        (vec!["foo=".into()], None, "an empty value"),
        (
            vec!["foo=1,bar=".into()],
            None,
            "one invalid member drops the header",
        ),
        (
            vec!["foo=b r".into()],
            Some("foo=b r".into()),
            "a space inside a value",
        ),
        (vec!["foo=2=3".into()], None, "= in a value"),
        (vec!["Foo=1".into()], None, "an upper-case key"),
        // Level 2 (test_tracestate_duplicated_keys): the list is inherited, a
        // repeated key keeps its first member.
        (
            vec!["foo=1,foo=2".into()],
            Some("foo=1".into()),
            "a repeated key with another value",
        ),
        (
            vec!["foo=1,bar=2,foo=1".into()],
            Some("foo=1,bar=2".into()),
            "a repeated member",
        ),
        (
            vec!["1abc=1".into()],
            Some("1abc=1".into()),
            "a key starting with a digit",
        ),
        (
            vec!["tenant@system=1".into()],
            Some("tenant@system=1".into()),
            "a multi-tenant key",
        ),
        (
            vec![format!("{long_key}=1")],
            Some(format!("{long_key}=1")),
            "a 256-character key",
        ),
        (vec![format!("{long_key}x=1")], None, "a 257-character key"),
        (
            vec![format!("foo={long_value}")],
            Some(format!("foo={long_value}")),
            "a 256-character value",
        ),
        (
            vec![format!("foo={long_value}v")],
            None,
            "a 257-character value",
        ),
        (vec!["fo o=1".into()], None, "a space in a key"),
        (vec!["foo".into()], None, "a member without ="),
        // Valid per the Level 2 key grammar, but OpenTelemetry's TraceState cannot
        // hold them: dropped whole (documented).
        (vec!["a@b@c=1".into()], None, "two @ in a key"),
        (
            vec![format!("t@{}=1", "s".repeat(14))],
            None,
            "a 14-character system id",
        ),
    ];
    for (lines, expected, rule) in cases {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(kept_tracestate(&lines), expected, "{rule}");
    }
    // Not ASCII: an http::HeaderValue can carry it; it is not a valid value.
    let mut carrier = HeaderMap::new();
    carrier.insert(
        "traceparent",
        HeaderValue::from_str(&traceparent("00", TRACE, PARENT, "01")).unwrap(),
    );
    carrier.insert(
        "tracestate",
        HeaderValue::from_bytes("foo=é".as_bytes()).unwrap(),
    );
    let cx = spanwright::extract(&carrier);
    assert!(cx.span().span_context().trace_state().header().is_empty());
}

fn baggage_of(lines: &[&str]) -> Vec<(String, String, String)> {
    let mut carrier = HeaderMap::new();
    for line in lines {
        carrier.append("baggage", HeaderValue::from_str(line).unwrap());
    }
    let cx = spanwright::extract(&carrier);
    let mut got: Vec<_> = cx
        .baggage()
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_string()))
        .collect();
    got.sort();
    got
}

fn member(k: &str, v: &str, m: &str) -> (String, String, String) {
    (k.into(), v.into(), m.into())
}

#[test]
fn baggage_rules() {
    assert_eq!(baggage_of(&["k=v"]), [member("k", "v", "")]);
    assert_eq!(
        baggage_of(&["k=hello%20world"]),
        [member("k", "hello world", "")],
        "percent-decoded"
    );
    assert_eq!(
        baggage_of(&["k=caf%C3%A9"]),
        [member("k", "café", "")],
        "UTF-8"
    );
    assert_eq!(
        baggage_of(&[" k = v ;prop ; p2=x "]),
        [member("k", "v", "prop;p2=x")],
        "spaces around members, = and properties"
    );
    assert_eq!(
        baggage_of(&["a=1,bad key=x,b=2,c=%zz,d=%FF,e=a b,f=\"q\",g=3"]),
        [
            member("a", "1", ""),
            member("b", "2", ""),
            member("g", "3", "")
        ],
        "invalid members dropped, the rest kept"
    );
    assert_eq!(
        baggage_of(&["a=1", "b=2"]),
        [member("a", "1", ""), member("b", "2", "")],
        "several lines"
    );
    assert_eq!(baggage_of(&["a=1,,b=2"]).len(), 2, "empty members");

    let many: String = (0..70)
        .map(|i| format!("k{i:02}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let got = baggage_of(&[&many]);
    assert_eq!(got.len(), 64, "at most 64 members");
    assert_eq!(got.last().unwrap().0, "k63", "the first 64, in order");

    let big = "x".repeat(3_000);
    let header = format!("a={big},b={big},c={big},d=small");
    let got: Vec<String> = baggage_of(&[&header]).into_iter().map(|m| m.0).collect();
    assert_eq!(got, ["a", "b"], "8,192 bytes at most; no member is cut");

    // Injected: percent-encoded, properties kept.
    let cx = spanwright::extract(&headers(&[("baggage", "k=hello%20world%2C%C3%A9;p")]));
    let _attached = cx.attach();
    let mut outgoing = HashMap::new();
    spanwright::inject(&mut outgoing);
    assert_eq!(outgoing["baggage"], "k=hello%20world%2C%C3%A9;p");
}

#[test]
fn a_header_map_is_a_carrier() {
    #[spanwright::span(kind = server, parent = request.headers(), link = request.headers())]
    fn handle(request: &http::Request<()>) -> HeaderMap {
        let mut outgoing = HeaderMap::new();
        spanwright::inject(&mut outgoing);
        outgoing
    }
    let request = http::Request::builder()
        .header("traceparent", traceparent("00", TRACE, PARENT, "01"))
        .header("tracestate", "a=1")
        .header("tracestate", "b=2")
        .header("baggage", "user=42")
        .body(())
        .unwrap();
    let (outgoing, spans) = capture(|| handle(&request));
    let span = spans.named("handle");
    assert_eq!(span.span_context.trace_id().to_string(), TRACE);
    assert_eq!(span.parent_span_id.to_string(), PARENT);
    assert_eq!(span.links.len(), 1);
    assert_eq!(outgoing["tracestate"], "a=1,b=2");
    assert_eq!(outgoing["baggage"], "user=42");
    let sent = outgoing["traceparent"].to_str().unwrap();
    assert!(sent.starts_with(&format!("00-{TRACE}-")) && !sent.contains(PARENT));
    let back = spanwright::extract(&outgoing);
    assert_eq!(
        back.span().span_context().span_id(),
        span.span_context.span_id()
    );
}

// ---- Seeded fuzzing against an independent reading of the grammar ----

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }
}

/// The oracle, written from the grammar by position, independently of the
/// runtime: `Some((trace, parent, flags))` for a traceparent to continue.
fn oracle(header: &str) -> Option<(String, String, u8)> {
    let h = header.trim_matches(|c| c == ' ' || c == '\t');
    let lower_hex = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    if !h.is_ascii() || h.len() < 55 {
        return None;
    }
    let (version, trace, parent, flags) = (&h[0..2], &h[3..35], &h[36..52], &h[53..55]);
    let separators = [2, 35, 52].iter().all(|&i| &h[i..=i] == "-");
    let tail_ok = if version == "00" {
        h.len() == 55
    } else {
        h.len() == 55 || &h[55..56] == "-"
    };
    let ok = separators
        && tail_ok
        && [version, trace, parent, flags].iter().all(|s| lower_hex(s))
        && version != "ff"
        && trace != "0".repeat(32)
        && parent != "0".repeat(16);
    ok.then(|| {
        (
            trace.to_string(),
            parent.to_string(),
            u8::from_str_radix(flags, 16).unwrap() & 3,
        )
    })
}

fn generate(rng: &mut Rng) -> String {
    let version = match rng.below(4) {
        0 => format!("{:02x}", rng.below(255)),
        _ => "00".to_string(),
    };
    let mut header = format!("{version}-{}-{}-{}", rng.hex(32), rng.hex(16), rng.hex(2));
    if version != "00" && rng.below(2) == 0 {
        let digits = rng.below(8);
        header.push_str(&format!("-{}", rng.hex(digits)));
    }
    match rng.below(10) {
        0 => header = format!(" {header}\t"),
        1 => header.replace_range(3..35, &"0".repeat(32)),
        2 => header.replace_range(36..52, &"0".repeat(16)),
        _ => {}
    }
    header
}

fn mutate(rng: &mut Rng, header: &mut String) {
    const ALPHABET: &[u8] = b"0123456789abcdefABCDEFgz-+_ \t,=";
    let mut bytes = header.clone().into_bytes();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        let byte = ALPHABET[rng.below(ALPHABET.len())];
        match rng.below(3) {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.push(byte),
        }
    }
    *header = String::from_utf8(bytes).unwrap();
}

#[test]
fn fuzzed_traceparents_continue_exactly_the_valid_ones() {
    let mut rng = Rng(0x005e_ed0f_5a7e);
    let (mut valid, mut invalid) = (0, 0);
    for i in 0..300_000 {
        let mut header = generate(&mut rng);
        if rng.below(3) > 0 {
            mutate(&mut rng, &mut header);
        }
        let expected = oracle(&header);
        let state = if rng.below(2) == 0 {
            "vendor=x,other=y"
        } else {
            "Bad=,x"
        };
        let carrier = headers(&[("traceparent", &header), ("tracestate", state)]);
        let got = continued(&carrier);
        assert_eq!(got, expected, "traceparent {header:?}");
        match &expected {
            Some((trace, parent, flags)) => {
                valid += 1;
                // inject after extract round-trips.
                let cx = spanwright::extract(&carrier);
                let mut out = HashMap::new();
                {
                    let _attached = cx.attach();
                    spanwright::inject(&mut out);
                }
                assert_eq!(
                    out["traceparent"],
                    format!("00-{trace}-{parent}-{flags:02x}")
                );
                assert_eq!(continued(&out), expected);
                let state_sent = out.get("tracestate").map(String::as_str);
                assert_eq!(state_sent, (state == "vendor=x,other=y").then_some(state));
            }
            None => invalid += 1,
        }
        // Every 25th carrier also through an annotated function.
        if i % 25 == 0 {
            let (trace, parent, _) = through_span(&carrier);
            match &expected {
                Some((t, p, _)) => {
                    assert_eq!((&trace, parent.to_string()), (t, p.clone()));
                }
                None => {
                    assert_eq!(
                        parent,
                        SpanId::INVALID,
                        "{header:?} did not start a new trace"
                    );
                    assert_ne!(trace, "0".repeat(32));
                }
            }
        }
    }
    // Both kinds were exercised in numbers.
    assert!(
        valid > 50_000 && invalid > 100_000,
        "valid {valid}, invalid {invalid}"
    );
}

#[test]
fn fuzzed_tracestates_never_panic_and_keep_only_valid_lists() {
    let mut rng = Rng(0x0007_ace5_7a7e);
    const PIECES: &[&str] = &[
        "a", "b1", "z@s", "k-_*/", "=", ",", " ", "\t", "v", "Q", "é", "==", "x=1", "y=2", "",
    ];
    for _ in 0..100_000 {
        let state: String = (0..rng.below(40))
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect();
        let carrier = headers(&[
            ("traceparent", &traceparent("00", TRACE, PARENT, "01")),
            ("tracestate", &state),
        ]);
        let cx = spanwright::extract(&carrier);
        let kept = cx.span().span_context().trace_state().header();
        if kept.is_empty() {
            continue;
        }
        let members: Vec<&str> = kept.split(',').collect();
        assert!(members.len() <= 32);
        for m in members {
            let (k, v) = m.split_once('=').expect("key=value");
            assert!(
                !k.is_empty() && !v.is_empty() && !v.ends_with(' '),
                "{state:?} kept {m:?}"
            );
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/@".contains(&b))
            );
        }
    }
}

/// Level 2's random flag describes the trace id, not the sampling decision
/// (test_propagates_random_flag): a span that a parent-based sampler drops under
/// a not-sampled random parent still injects `02`, and a sampled one `03`.
#[test]
fn the_random_flag_survives_a_dropped_span() {
    use spanwright::opentelemetry_sdk::trace::Sampler;
    use spanwright::testing::Capture;
    let parent_based = || Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
    for (flags, sent, recorded) in [("02", "02", 0), ("03", "03", 1), ("00", "00", 0)] {
        let incoming = headers(&[("traceparent", &traceparent("00", TRACE, PARENT, flags))]);
        let (outgoing, spans) = Capture::with_sampler(parent_based()).run(|| serve(&incoming));
        assert_eq!(spans.len(), recorded, "flags {flags}");
        let tp = &outgoing["traceparent"];
        assert!(tp.starts_with(&format!("00-{TRACE}-")), "{tp}");
        assert!(!tp.contains(PARENT), "a span of its own: {tp}");
        assert!(
            tp.ends_with(&format!("-{sent}")),
            "flags {flags} sent on as {tp}"
        );
    }
}
