#![allow(unused)]
#[spanwright::traced_job(attrs(job.status = "ok"))]
fn run() {}

fn main() {}
