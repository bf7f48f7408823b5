//! A library as a crate of its own would annotate its functions: the spans it
//! makes carry its own instrumentation scope.

/// An annotated library function.
#[spanwright::span]
pub fn fetch(key: &str) -> usize {
    key.len()
}

/// An annotated async library function.
#[spanwright::span]
pub async fn fetch_async(key: &str) -> usize {
    key.len()
}
