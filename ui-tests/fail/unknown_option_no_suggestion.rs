#![allow(unused)]
#[spanwright::span(colour = red)]
fn fetch() {}

fn main() {}
