#![allow(unused)]
#[spanwright::span]
fn fetch(#[attr = "model"] model: &str) {}

fn main() {}
