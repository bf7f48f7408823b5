#![allow(unused)]
#[spanwright::span(metric)]
fn fetch() -> u8 { 1 }

fn main() {}
