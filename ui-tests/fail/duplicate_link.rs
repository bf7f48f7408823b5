#![allow(unused)]
use std::collections::HashMap;
#[spanwright::span(link = a, link = b)]
fn fetch(a: &HashMap<String, String>, b: &HashMap<String, String>) {}

fn main() {}
