#![allow(unused)]
#[spanwright::span(ret = true)]
fn fetch() -> u8 { 1 }

fn main() {}
