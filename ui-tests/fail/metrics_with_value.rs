#![allow(unused)]
#[spanwright::span(metrics = true)]
fn fetch() -> u8 { 1 }

fn main() {}
