#![allow(unused)]
#[spanwright::span(kind = client, kind = server)]
fn fetch() {}

fn main() {}
