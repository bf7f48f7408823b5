#![allow(unused)]
#[spanwright::span(name = storage)]
fn fetch() {}

fn main() {}
