#![allow(unused)]
#[spanwright::span(attrs("job..id" = id))]
fn fetch(id: u64) {}

fn main() {}
