#![allow(unused)]
#[spanwright::traced_job(id = id, attrs(job.id = id))]
fn run(id: u64) {}

fn main() {}
