#![allow(unused)]
struct Config { retries: u8 }
#[spanwright::span]
fn start(#[attr] config: &Config) -> u8 { config.retries }

fn main() {}
