#![allow(unused)]

struct Wrapper<T>(T);

// Type errors in the body of an async fn returning `impl Trait` point at the body.
#[spanwright::span]
async fn opaque_unsatisfied() -> impl std::fmt::Display {
    ("",)
}

#[spanwright::span]
async fn mismatch_with_opaque() -> Wrapper<impl std::fmt::Display> {
    ""
}

fn main() {}
