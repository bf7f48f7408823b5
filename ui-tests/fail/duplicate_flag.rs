#![allow(unused)]
#[spanwright::span(ret, status_ok, ret)]
fn fetch() -> u8 { 1 }

fn main() {}
