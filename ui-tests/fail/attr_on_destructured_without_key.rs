#![allow(unused)]
#[spanwright::span]
fn sum(#[attr] (a, b): (u8, u8)) -> u8 { a + b }

fn main() {}
