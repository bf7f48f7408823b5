#![allow(unused)]
struct Config { retries: u8 }
#[spanwright::span(attrs(config = config))]
fn start(config: &Config) -> u8 { config.retries }

fn main() {}
