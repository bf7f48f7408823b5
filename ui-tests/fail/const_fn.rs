#![allow(unused)]
#[spanwright::span]
const fn answer() -> u32 { 42 }

fn main() {}
