#![allow(unused)]
#[spanwright::span(name = "job.{id}")]
fn process() {}

fn main() {}
