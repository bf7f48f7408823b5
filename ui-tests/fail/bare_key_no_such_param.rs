#![allow(unused)]
#[spanwright::span(attrs(user_id))]
fn fetch(id: u64) {}

fn main() {}
