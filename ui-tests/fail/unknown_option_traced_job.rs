#![allow(unused)]
#[spanwright::traced_job(atempt = 1)]
fn run() {}

fn main() {}
