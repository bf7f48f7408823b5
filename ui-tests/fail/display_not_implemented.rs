#![allow(unused)]
struct Config;
#[spanwright::span(attrs(config = %config))]
fn start(config: Config) {}

fn main() {}
