#![allow(unused)]
#[spanwright::span(name = "process_job.{job_typ}")]
fn process(job_type: &str) {}

fn main() {}
