#![allow(unused)]
#[spanwright::span(name = "login.{password}")]
fn login(password: &str) {}

fn main() {}
