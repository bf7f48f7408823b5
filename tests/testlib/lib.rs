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

/// Every kind of code the macros generate, compiled against the lean build when
/// this crate is built alone (`scripts/test` does): attributes, a name template,
/// `?`, a parent from a carrier, and jobs that flush.
pub mod shapes {
    use std::collections::HashMap;

    /// A function with attributes, a name template and `?`.
    #[spanwright::span(name = "parse {kind}", attrs(kind, input.len = input.len()), ret)]
    pub fn parse(kind: &str, input: &str) -> Result<u64, std::num::ParseIntError> {
        let value = input.trim().parse::<u64>()?;
        Ok(value)
    }

    /// A job continuing the trace of its message's headers, flushing at its end.
    #[spanwright::traced_job(parent = headers, flush)]
    pub fn handle(headers: &HashMap<String, String>) -> Result<usize, String> {
        Ok(headers.len())
    }

    /// The same, async.
    #[spanwright::traced_job(parent = headers, flush)]
    pub async fn handle_async(headers: &HashMap<String, String>) -> Result<usize, String> {
        Ok(headers.len())
    }
}
