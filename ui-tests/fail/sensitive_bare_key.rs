#![allow(unused)]
#[spanwright::span(attrs(token))]
fn call(token: &str) {}

fn main() {}
