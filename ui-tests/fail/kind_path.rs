#![allow(unused)]
#[spanwright::span(kind = SpanKind::Client)]
fn fetch() {}

fn main() {}
