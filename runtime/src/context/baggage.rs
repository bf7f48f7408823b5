//! W3C Baggage (`baggage` header): `key=value;property` members separated by
//! `,` with optional spaces or tabs; keys are HTTP tokens, values are
//! percent-encoded UTF-8. An invalid member is dropped and the rest kept; at most
//! 64 members and 8,192 bytes of header are read or written, in order, and what
//! does not fit is dropped (a member is never cut).

use opentelemetry::baggage::{BaggageExt, BaggageMetadata};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::{Context, baggage::Baggage};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use std::sync::OnceLock;

const BAGGAGE: &str = "baggage";
const MAX_MEMBERS: usize = 64;
const MAX_BYTES: usize = 8_192;

/// Everything that is not a `baggage-octet` is percent-encoded, and so is `%`.
const ENCODED: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// The W3C Baggage propagator (`OTEL_PROPAGATORS=baggage`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct W3cBaggage;

/// An HTTP token (RFC 9110 `tchar`), as W3C Baggage keys are.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `baggage-octet` or a `%XX` escape, the whole value.
fn is_encoded_value(text: &str) -> bool {
    let bytes = text.as_bytes();
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            if !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
        } else if octet(bytes[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// One member: its key, decoded value and properties; `None` when invalid.
fn parse_member(member: &str) -> Option<(String, String, String)> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (trim(key), trim(value));
    if !is_token(key) || !is_encoded_value(value) {
        return None;
    }
    let value = percent_decode_str(value).decode_utf8().ok()?.into_owned();
    let mut properties = Vec::new();
    for property in parts {
        let property = match property.split_once('=') {
            Some((k, v)) if is_token(trim(k)) && is_encoded_value(trim(v)) => {
                format!("{}={}", trim(k), trim(v))
            }
            None if is_token(trim(property)) => trim(property).to_owned(),
            _ => return None,
        };
        properties.push(property);
    }
    Some((key.to_owned(), value, properties.join(";")))
}

/// Reads combined `baggage` header lines.
pub(crate) fn parse_baggage(lines: &[&str]) -> Baggage {
    let mut baggage = Baggage::new();
    let (mut members, mut bytes) = (0, 0);
    for member in lines.iter().flat_map(|line| line.split(',')) {
        let member = trim(member);
        if member.is_empty() {
            continue;
        }
        let Some((key, value, properties)) = parse_member(member) else {
            continue;
        };
        let size = member.len() + usize::from(members > 0);
        if members == MAX_MEMBERS || bytes + size > MAX_BYTES {
            break;
        }
        members += 1;
        bytes += size;
        baggage.insert_with_metadata(key, value, BaggageMetadata::from(properties));
    }
    baggage
}

impl TextMapPropagator for W3cBaggage {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let mut header = String::new();
        let mut members = 0;
        for (key, (value, metadata)) in cx.baggage() {
            if !is_token(key.as_str()) || members == MAX_MEMBERS {
                continue;
            }
            let mut member = format!("{key}={}", utf8_percent_encode(value.as_str(), ENCODED));
            if !metadata.as_str().is_empty() {
                member.push(';');
                member.push_str(metadata.as_str());
            }
            let separator = usize::from(!header.is_empty());
            if header.len() + separator + member.len() > MAX_BYTES {
                continue;
            }
            if separator == 1 {
                header.push(',');
            }
            header.push_str(&member);
            members += 1;
        }
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get_all(BAGGAGE) {
            Some(lines) => {
                let baggage = parse_baggage(&lines);
                if baggage.is_empty() {
                    cx.clone()
                } else {
                    cx.with_baggage(baggage)
                }
            }
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static NAMES: OnceLock<[String; 1]> = OnceLock::new();
        FieldIter::new(NAMES.get_or_init(|| [BAGGAGE.to_owned()]))
    }
}
