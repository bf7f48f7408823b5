#![allow(unused)]
#[spanwright::span]
fn count() -> u32 {
    let n: i64 = 3;
    n
}

fn main() {}
