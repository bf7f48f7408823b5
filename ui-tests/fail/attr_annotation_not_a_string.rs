#![allow(unused)]
#[spanwright::span]
fn fetch(#[attr(model.name)] model: &str) {}

fn main() {}
