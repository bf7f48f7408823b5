#![allow(unused)]

struct Wrapper<T>(T);

// Type errors in an async fn returning `impl Trait` point at the user's code: a
// mismatch at the body, an unmet `impl Trait` bound at the return type.
#[spanwright::span]
async fn opaque_unsatisfied() -> impl std::fmt::Display {
    ("",)
}

#[spanwright::span]
async fn mismatch_with_opaque() -> Wrapper<impl std::fmt::Display> {
    ""
}

fn main() {}
