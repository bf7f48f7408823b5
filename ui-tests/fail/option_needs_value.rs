#![allow(unused)]
#[spanwright::span(name)]
fn fetch() {}

fn main() {}
