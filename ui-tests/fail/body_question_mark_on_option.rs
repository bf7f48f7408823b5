#![allow(unused)]
#[spanwright::span]
fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    let first = s.chars().next()?;
    Ok(first as u32)
}

fn main() {}
