#![allow(unused)]
#[spanwright::span(nmae = "x")]
fn fetch(id: u64) -> u64 {
    id + "1"
}

fn main() {}
