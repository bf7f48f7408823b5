#![allow(unused)]
#[spanwright::span]
async fn count() -> u32 {
    "three"
}

fn main() {}
