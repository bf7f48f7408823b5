#![allow(unused)]
use std::collections::HashMap;
#[spanwright::traced_job(parent = headers, root)]
fn run(headers: &HashMap<String, String>) {}

fn main() {}
