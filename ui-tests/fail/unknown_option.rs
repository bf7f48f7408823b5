#![allow(unused)]
#[spanwright::span(nmae = "fetch")]
fn fetch() {}

fn main() {}
