#![allow(unused)]
fn main() {}
#[spanwright::span]
fn call(#[attr] api_key: &str) {}
