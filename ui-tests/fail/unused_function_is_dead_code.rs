#![deny(dead_code)]

// An unused annotated function still gets rustc's `dead_code` lint.
#[spanwright::span]
fn never_called() -> u8 {
    1
}

fn main() {}
