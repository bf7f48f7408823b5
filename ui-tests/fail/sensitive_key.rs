#![allow(unused)]
#[spanwright::span(attrs(user.password = password))]
fn login(password: &str) {}

fn main() {}
