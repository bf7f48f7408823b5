#![allow(unused)]
#[spanwright::span(parent = &id)]
fn fetch(id: u64) {}

fn main() {}
