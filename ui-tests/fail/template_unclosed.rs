#![allow(unused)]
#[spanwright::span(name = "job.{kind")]
fn process(kind: &str) {}

fn main() {}
