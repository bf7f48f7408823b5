#![allow(unused)]
#[spanwright::span(flush)]
fn fetch() {}

fn main() {}
