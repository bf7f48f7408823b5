#![allow(unused)]
#[spanwright::span(attrs(id))]
fn fetch(#[attr] id: u64) {}

fn main() {}
