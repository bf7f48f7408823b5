#![allow(unused)]
#[spanwright::span(kind = "client")]
fn fetch() {}

fn main() {}
