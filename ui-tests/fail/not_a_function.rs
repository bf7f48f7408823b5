#![allow(unused)]
#[spanwright::span]
struct Client {
    url: String,
}

fn main() {}
