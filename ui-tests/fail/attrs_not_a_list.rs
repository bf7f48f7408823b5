#![allow(unused)]
#[spanwright::span(attrs = id)]
fn fetch(id: u64) {}

fn main() {}
