#![allow(unused)]
#[spanwright::span(attrs(code.line.number = 1))]
fn fetch() {}

fn main() {}
