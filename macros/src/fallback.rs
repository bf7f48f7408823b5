//! What is emitted when the arguments are wrong (the errors, beside the function
//! unchanged, so the rest of the crate still type-checks) and under the `off`
//! feature (the function alone).

use crate::ast::Function;
use crate::valid::{Parent, Plan, SpanName};
use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};

/// The errors and the item as it was written (it is not a function we can read).
pub(crate) fn item(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote! { #error #item }
}

/// The errors and the function without its `#[attr]` annotations.
pub(crate) fn function(error: syn::Error, function: &Function) -> TokenStream {
    let error = error.to_compile_error();
    let plain = plain(function);
    quote! { #error #plain }
}

/// The function as written, `#[attr]` annotations removed.
pub(crate) fn plain(function: &Function) -> TokenStream {
    with_prelude(function, TokenStream::new())
}

/// The function as written, `#[attr]` annotations removed, with `prelude` at the
/// start of its body.
fn with_prelude(function: &Function, prelude: TokenStream) -> TokenStream {
    let Function {
        outer_attrs,
        inner_attrs,
        vis,
        plain_sig,
        block,
        ..
    } = function;
    let stmts = &block.stmts;
    quote! {
        #(#outer_attrs)*
        #vis #plain_sig {
            #(#inner_attrs)*
            #prelude
            #(#stmts)*
        }
    }
}

/// The `off` expansion: the function as written, and for each parameter that only
/// the macro's arguments used, a no-op borrow, so it raises no `unused_variables`
/// warning (the macro's arguments are compiled away, the parameter is not).
pub(crate) fn off(plan: &Plan<'_>) -> TokenStream {
    let function = plan.function;
    let mut mentioned = TokenStream::new();
    for attr in &plan.attrs {
        mentioned.extend(attr.value.clone());
    }
    if let Parent::Carrier(carrier) = &plan.parent {
        carrier.to_tokens(&mut mentioned);
    }
    for link in &plan.links {
        link.to_tokens(&mut mentioned);
    }
    if let SpanName::Template { args, .. } = &plan.name {
        for arg in args {
            arg.to_tokens(&mut mentioned);
        }
    }
    let mut names = Vec::new();
    collect_idents(mentioned, &mut names);
    let used: Vec<_> = function
        .params
        .iter()
        .filter_map(|p| p.name.as_ref())
        .filter(|name| names.iter().any(|n| n == *name))
        .collect();
    with_prelude(function, quote!(#(let _ = &#used;)*))
}

fn collect_idents(tokens: TokenStream, into: &mut Vec<proc_macro2::Ident>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => into.push(ident),
            TokenTree::Group(group) => collect_idents(group.stream(), into),
            _ => {}
        }
    }
}
