//! W3C Trace Context (`traceparent`, `tracestate`), strictly: a header is
//! continued only if it is valid per the recommendation (Level 1) and the Level 2
//! draft; anything else starts a new trace. The SDK's own propagator accepts
//! widths, signs and case the recommendation forbids.
//!
//! - `traceparent`, version `00`: exactly `00-<32 hex>-<16 hex>-<2 hex>`, lower
//!   case. A higher version: that prefix, then the end or `-` (fields a future
//!   version adds are ignored). Never version `ff`, never an all-zero trace or
//!   parent id. Spaces and tabs around the value are ignored.
//! - flags: the sampled (`01`) and random trace-id (`02`, Level 2) flags are kept;
//!   other bits are not propagated.
//! - An invalid `traceparent` is ignored together with its `tracestate`.
//! - `tracestate`: several header lines are combined in order; members are
//!   separated by `,` with optional spaces or tabs, empty members are allowed;
//!   a repeated key keeps its first member; more than 32 members or an invalid
//!   member drops the whole header (the trace is still continued). Keys follow the Level 2 grammar, but
//!   OpenTelemetry's `TraceState` cannot hold a key with two `@` or more than 13
//!   characters after its `@`: such a header is dropped whole as well.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The flags spanwright propagates: sampled and (Level 2) random trace id.
const KEPT_FLAGS: u8 = 0x03;
const MAX_MEMBERS: usize = 32;

/// The strict W3C Trace Context propagator (`OTEL_PROPAGATORS=tracecontext`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct W3cTraceContext;

/// The fields of a valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub(crate) trace_id: TraceId,
    pub(crate) parent_id: SpanId,
    pub(crate) flags: TraceFlags,
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// Exactly `N` lower-case hex digits, as a number.
fn lower_hex<const N: usize>(digits: &[u8]) -> Option<u128> {
    if digits.len() != N {
        return None;
    }
    digits
        .iter()
        .try_fold(0u128, |n, &b| Some(n << 4 | u128::from(hex_value(b)?)))
}

/// Parses a `traceparent` value; `None` when it is not valid.
pub(crate) fn parse_traceparent(value: &str) -> Option<TraceParent> {
    let bytes = value.trim_matches([' ', '\t']).as_bytes();
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
    if bytes.len() < 55 {
        return None;
    }
    let version = lower_hex::<2>(&bytes[0..2])?;
    if version == 0xff {
        return None;
    }
    let rest_ok = match (version, bytes.len()) {
        (0, 55) => true,
        (0, _) => false,
        // A future version: what follows the known fields starts with "-".
        (_, 55) => true,
        (_, _) => bytes[55] == b'-',
    };
    if !rest_ok || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = lower_hex::<32>(&bytes[3..35])?;
    let parent_id = lower_hex::<16>(&bytes[36..52])? as u64;
    let flags = lower_hex::<2>(&bytes[53..55])? as u8;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some(TraceParent {
        trace_id: TraceId::from(trace_id),
        parent_id: SpanId::from(parent_id),
        flags: TraceFlags::new(flags & KEPT_FLAGS),
    })
}

/// `key` per the Level 2 grammar: `(lcalpha / DIGIT) 0*255(keychar)`, keychar
/// being lower-case letters, digits, `_ - * / @`.
fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    bytes.len() <= 256
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes.iter().all(|&b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII but `,` and `=`, not ending in
/// a space, 1 to 256 characters.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let nblk = |b: u8| (0x21..=0x7e).contains(&b) && b != b',' && b != b'=';
    matches!(bytes.last(), Some(&last) if nblk(last))
        && bytes.len() <= 256
        && bytes.iter().all(|&b| b == b' ' || nblk(b))
}

/// Parses combined `tracestate` header lines; `None` drops the whole header.
pub(crate) fn parse_tracestate(lines: &[&str]) -> Option<TraceState> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for member in lines.iter().flat_map(|line| line.split(',')) {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(value) {
            return None;
        }
        // A repeated key: the first member is kept, the repeat discarded.
        if members.iter().any(|(seen, _)| *seen == key) {
            continue;
        }
        members.push((key, value));
        if members.len() > MAX_MEMBERS {
            return None;
        }
    }
    // A key the Level 2 grammar allows but `TraceState` cannot hold: dropped whole.
    TraceState::from_key_value(members).ok()
}

impl TextMapPropagator for W3cTraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let context = span.span_context();
        if !context.is_valid() {
            return;
        }
        let flags = context.trace_flags().to_u8() & KEPT_FLAGS;
        injector.set(
            TRACEPARENT,
            format!(
                "00-{}-{}-{flags:02x}",
                context.trace_id(),
                context.span_id()
            ),
        );
        let state = context.trace_state().header();
        if !state.is_empty() {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(parent) = extractor.get(TRACEPARENT).and_then(parse_traceparent) else {
            return cx.clone();
        };
        let state = extractor
            .get_all(TRACESTATE)
            .and_then(|lines| parse_tracestate(&lines))
            .unwrap_or_default();
        let remote = SpanContext::new(parent.trace_id, parent.parent_id, parent.flags, true, state);
        cx.with_remote_span_context(remote)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(fields())
    }
}

fn fields() -> &'static [String] {
    static NAMES: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn version_zero_is_exact() {
        assert!(parse_traceparent(VALID).is_some());
        assert!(parse_traceparent(&format!("{VALID}-")).is_none());
        assert!(parse_traceparent(&VALID.replace("-01", "-1")).is_none());
        assert!(parse_traceparent(&VALID.to_uppercase()).is_none());
    }

    #[test]
    fn future_versions_take_more_fields() {
        let future = VALID.replacen("00", "cc", 1);
        assert!(parse_traceparent(&future).is_some());
        assert!(parse_traceparent(&format!("{future}-what-the-future-holds")).is_some());
        assert!(parse_traceparent(&format!("{future}what")).is_none());
        assert!(parse_traceparent(&VALID.replacen("00", "ff", 1)).is_none());
    }

    #[test]
    fn the_random_flag_is_kept() {
        let random = parse_traceparent(&VALID.replace("-01", "-03")).unwrap();
        assert_eq!(random.flags.to_u8(), 0x03);
        let unknown = parse_traceparent(&VALID.replace("-01", "-ff")).unwrap();
        assert_eq!(unknown.flags.to_u8(), 0x03);
    }
}
