#![allow(unused)]
#[spanwright::span(attrs(id))]
async fn fetch(id: u64) -> u64 {
    id + idd
}

fn main() {}
