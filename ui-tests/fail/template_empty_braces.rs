#![allow(unused)]
#[spanwright::span(name = "job.{}")]
fn process(kind: &str) {}

fn main() {}
