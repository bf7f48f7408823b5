#![allow(unused)]
#[spanwright::span(attrs(job.id = id, job.id = id + 1))]
fn fetch(id: u64) {}

fn main() {}
