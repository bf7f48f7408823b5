#![allow(unused)]
#[spanwright::traced_job(init)]
fn run() {}

fn main() {}
