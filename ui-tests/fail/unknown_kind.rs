#![allow(unused)]
#[spanwright::span(kind = clinet)]
fn fetch() {}

fn main() {}
