#![allow(unused)]
#[spanwright::span(name = "job}")]
fn process() {}

fn main() {}
