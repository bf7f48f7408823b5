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

/// Runs `f` inside its span, as a library runs a caller's callback.
#[spanwright::span]
pub fn with_callback(f: impl FnOnce()) {
    f()
}

/// A module an application may turn on while the rest of the library is off.
pub mod keep {
    /// An annotated function of the module; it calls one outside it.
    #[spanwright::span]
    pub fn kept() -> usize {
        super::fetch("kept")
    }
}
