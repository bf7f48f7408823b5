//! Protobuf's wire format, the few primitives the OTLP encoders write with
//! (prost's own for keys and varints past one byte).

use prost::encoding::{WireType, encoded_len_varint};

/// A length-delimited field whose body `write` appends; its length is written
/// in front once known (one byte reserved; the body moves if it needs more).
pub(crate) fn message(out: &mut Vec<u8>, tag: u32, write: impl FnOnce(&mut Vec<u8>)) {
    encode_key(tag, WireType::LengthDelimited, out);
    let at = out.len();
    out.push(0);
    write(out);
    let len = out.len() - at - 1;
    let width = encoded_len_varint(len as u64);
    if width > 1 {
        // Room for the longer length: the body moves up by the difference.
        let end = out.len();
        out.resize(end + width - 1, 0);
        out.copy_within(at + 1..end, at + width);
    }
    let mut slot = &mut out[at..at + width];
    encode_varint(len as u64, &mut slot);
}

/// A field's key. Every tag here is below 16: one byte.
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
