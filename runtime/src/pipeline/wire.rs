//! Protobuf's wire format, the few primitives the OTLP encoders write with
//! (prost's own for keys and varints past one byte).

use prost::encoding::{WireType, encoded_len_varint};

/// A length-delimited field whose body `write` appends; its length is written
/// in front once known (one byte reserved; the body moves if it needs more).
pub(crate) fn message(out: &mut Vec<u8>, tag: u32, write: impl FnOnce(&mut Vec<u8>)) {
    message_sized(out, tag, 1, write);
}

/// The same, with `width` bytes reserved for the length: for a body that is
/// mostly longer than 127 bytes (a span: 2), so that it need not move.
pub(crate) fn message_sized(
    out: &mut Vec<u8>,
    tag: u32,
    width: usize,
    write: impl FnOnce(&mut Vec<u8>),
) {
    encode_key(tag, WireType::LengthDelimited, out);
    let at = out.len();
    out.extend_from_slice(&[0; 3][..width.min(3)]);
    let width = out.len() - at;
    write(out);
    let end = out.len();
    let len = end - at - width;
    if width == 1 && len < 0x80 {
        // The common case: a short body, its length in the one byte reserved.
        out[at] = len as u8;
        return;
    }
    let needed = encoded_len_varint(len as u64);
    if needed > width {
        // Room for the longer length: the body moves up by the difference.
        out.resize(end + needed - width, 0);
        out.copy_within(at + width..end, at + needed);
    } else if needed < width {
        // A shorter body than expected: it moves down.
        out.copy_within(at + width..end, at + needed);
        out.truncate(end - (width - needed));
    }
    // The length's bytes, low seven bits first, each but the last flagged.
    let mut rest = len as u64;
    for slot in &mut out[at..at + needed - 1] {
        *slot = (rest as u8 & 0x7f) | 0x80;
        rest >>= 7;
    }
    out[at + needed - 1] = rest as u8;
}

/// A length-delimited field's key and a length known in advance: nothing to
/// fill in or move afterwards.
#[inline]
pub(crate) fn header(out: &mut Vec<u8>, tag: u32, len: usize) {
    if tag < 16 && len < 0x80 {
        out.extend_from_slice(&[
            ((tag << 3) | WireType::LengthDelimited as u32) as u8,
            len as u8,
        ]);
    } else {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(len as u64, out);
    }
}

/// The length of a length-delimited field with a body of `len` bytes, key
/// (below 16) included.
#[inline]
pub(crate) fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// A field's key: one byte for tags below 16; 16 (span flags) through prost.
#[inline]
pub(crate) fn encode_key(tag: u32, wire_type: WireType, out: &mut Vec<u8>) {
    if tag < 16 {
        out.push(((tag << 3) | wire_type as u32) as u8);
    } else {
        prost::encoding::encode_key(tag, wire_type, out);
    }
}

/// A varint; most values here (lengths, counts, kinds) take one byte.
#[inline]
pub(crate) fn encode_varint(value: u64, out: &mut impl bytes::BufMut) {
    if value < 0x80 {
        out.put_u8(value as u8);
    } else {
        prost::encoding::encode_varint(value, out);
    }
}

/// A string field, left out when empty (proto3).
pub(crate) fn string(out: &mut Vec<u8>, tag: u32, value: &str) {
    if !value.is_empty() {
        string_always(out, tag, value);
    }
}

pub(crate) fn string_always(out: &mut Vec<u8>, tag: u32, value: &str) {
    bytes_always(out, tag, value.as_bytes());
}

pub(crate) fn bytes(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    if !value.is_empty() {
        bytes_always(out, tag, value);
    }
}

pub(crate) fn bytes_always(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// A varint field, left out when zero (proto3).
pub(crate) fn varint(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(value, out);
    }
}

pub(crate) fn fixed64(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        encode_key(tag, WireType::SixtyFourBit, out);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

pub(crate) fn fixed32(out: &mut Vec<u8>, tag: u32, value: u32) {
    if value != 0 {
        encode_key(tag, WireType::ThirtyTwoBit, out);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_takes_the_shortest_length_whatever_was_reserved() {
        for width in 1..=3 {
            for len in [0, 1, 127, 128, 300, 16_383, 16_384, 70_000, 2_097_152] {
                let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                let mut out = vec![0xAA];
                message_sized(&mut out, 2, width, |out| out.extend_from_slice(&body));
                let mut rest = &out[1..];
                let key = prost::encoding::decode_varint(&mut rest).unwrap();
                assert_eq!(key, (2 << 3) | WireType::LengthDelimited as u64);
                let before = rest.len();
                let decoded = prost::encoding::decode_varint(&mut rest).unwrap();
                assert_eq!(decoded, len as u64, "width {width}");
                assert_eq!(before - rest.len(), encoded_len_varint(len as u64));
                assert_eq!(rest, &body[..], "width {width}, length {len}");
                assert_eq!(out[0], 0xAA);
            }
        }
    }
}
