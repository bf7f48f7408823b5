#![allow(unused)]
#[spanwright::span(attrs(Job.Id = id))]
fn fetch(id: u64) {}

fn main() {}
