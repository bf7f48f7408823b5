//! The attribute macros of [spanwright](https://docs.rs/spanwright): `#[span]` and
//! `#[traced_job]`. Use them through the `spanwright` crate, which re-exports them
//! and holds the runtime their expansion calls.
//!
//! Each macro runs in stages, one module each: `attr` parses the arguments into
//! a plain structure, `ast` reads the function, `valid` checks both and
//! collects every mistake, `expand` writes the instrumented function, and
//! `fallback` emits the function unchanged beside the errors when there are any.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod expand;
mod fallback;
mod inline;
mod keys;
mod valid;

use proc_macro::TokenStream;

/// Which macro is expanding: they share options and differ in defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Macro {
    Span,
    TracedJob,
}

impl Macro {
    fn name(self) -> &'static str {
        match self {
            Macro::Span => "span",
            Macro::TracedJob => "traced_job",
        }
    }
}

/// Instruments a function with an OpenTelemetry span; see `spanwright::span`.
#[proc_macro_attribute]
pub fn span(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Span, args.into(), item.into()).into()
}

/// Instruments a job entrypoint; see `spanwright::traced_job`.
#[proc_macro_attribute]
pub fn traced_job(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::TracedJob, args.into(), item.into()).into()
}

fn instrument(
    which: Macro,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let function = match ast::Function::parse(which, item.clone()) {
        Ok(function) => function,
        Err(error) => return fallback::item(error, item),
    };
    let (options, parse_errors) = attr::parse(which, args);
    match valid::check(which, options, &function, parse_errors) {
        Ok(plan) if cfg!(feature = "off") => fallback::off(&plan),
        Ok(plan) => expand::expand(&plan),
        Err(errors) => fallback::function(errors, &function),
    }
}
