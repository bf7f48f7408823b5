#![allow(unused)]
struct Client;
#[spanwright::span]
impl Client {}

fn main() {}
