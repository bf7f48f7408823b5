#![allow(unused)]
use std::collections::HashMap;
#[spanwright::span(root, parent = headers)]
fn fetch(headers: &HashMap<String, String>) {}

fn main() {}
