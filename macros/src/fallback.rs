//! What is emitted when the arguments are wrong (the errors, beside the function
//! unchanged, so the rest of the crate still type-checks) and under the `off`
//! feature (the function alone).

use crate::ast::Function;
use proc_macro2::TokenStream;
use quote::quote;

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
            #(#stmts)*
        }
    }
}
