#![allow(unused)]
#[spanwright::span(nmae = "x", kind = clinet, attrs(Job.Id = id, user.password = id, missing), kind = server)]
fn fetch(id: u64) {}

fn main() {}
