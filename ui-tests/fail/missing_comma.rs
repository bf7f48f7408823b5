#![allow(unused)]
#[spanwright::span(kind = client name = "x")]
fn fetch() {}

fn main() {}
