#![allow(unused)]
#[spanwright::span(name = 5)]
fn fetch() {}

fn main() {}
