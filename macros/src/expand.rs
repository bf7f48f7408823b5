//! Expansion: the instrumented function. Generated code reaches the runtime only
//! through `::spanwright::__private`.

use crate::Macro;
use crate::ast::{Shape, single_async_block_mut};
use crate::attr::Format;
use crate::valid::{Parent, Plan, SpanName};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(plan: &Plan<'_>) -> TokenStream {
    let function = plan.function;
    let outer_attrs = &function.outer_attrs;
    let inner_attrs = &function.inner_attrs;
    let vis = &function.vis;
    let sig = &function.sig;
    let body = match function.shape {
        Shape::Sync => {
            let run = sync_body(plan);
            wrap_job(plan, run)
        }
        Shape::Async => {
            let run = async_body(plan, stmts_tokens(&function.block.stmts));
            wrap_job(plan, run)
        }
        Shape::AsyncBlock => {
            let mut block = function.block.clone();
            let inner = single_async_block_mut(&mut block).expect("shape checked by ast");
            let stmts = stmts_tokens(&inner.block.stmts);
            let run = wrap_job(plan, async_body(plan, stmts));
            inner.block = syn::parse_quote!({ #run });
            stmts_tokens(&block.stmts)
        }
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// The static call site and the expression that starts the span (or not).
fn start(plan: &Plan<'_>, on: TokenStream) -> TokenStream {
    let function = plan.function;
    let name = plan.name.pattern();
    let kind = &plan.kind;
    let fn_name = syn::ext::IdentExt::unraw(&function.sig.ident).to_string();
    let line = quote_spanned!(function.sig.ident.span()=> ::core::line!());
    let attr_count = plan.attrs.len();
    let status_ok = plan.status_ok;
    let job = plan.which == Macro::TracedJob;
    let parent = match &plan.parent {
        Parent::Current => quote!(),
        Parent::Root => quote!(.root()),
        Parent::Carrier(carrier) => quote_spanned!(carrier.span()=> .parent(#carrier)),
    };
    let links = plan
        .links
        .iter()
        .map(|link| quote_spanned!(link.span()=> .link(#link)));
    let span = quote!(__spanwright_span);
    let rename = match &plan.name {
        SpanName::Fixed(_) => quote!(),
        SpanName::Template { format, args, .. } => quote! {
            #span.name(::spanwright::__private::format!(#format, #(#args),*));
        },
    };
    let sets = plan.attrs.iter().map(|attr| {
        let key = &attr.key;
        let value = &attr.value;
        let convert = match attr.format {
            Format::Typed => {
                quote_spanned!(value.span()=> ::spanwright::__private::to_value(&(#value)))
            }
            Format::Display => {
                quote_spanned!(value.span()=> ::spanwright::__private::display_value(&(#value)))
            }
            Format::Debug => {
                quote_spanned!(value.span()=> ::spanwright::__private::debug_value(&(#value)))
            }
        };
        quote! { #span.attr(::spanwright::__private::Key::from_static_str(#key), #convert); }
    });
    let record = if plan.attrs.is_empty() && matches!(plan.name, SpanName::Fixed(_)) {
        quote!(|_| {})
    } else {
        quote!(|#span| { #rename #(#sets)* })
    };
    quote! {
        {
            static __SPANWRIGHT_SITE: ::spanwright::__private::Site = ::spanwright::__private::Site {
                name: #name,
                kind: ::spanwright::__private::SpanKind::#kind,
                function: ::core::concat!(::core::module_path!(), "::", #fn_name),
                file: ::core::file!(),
                line: #line,
                attrs: #attr_count,
                status_ok: #status_ok,
                job: #job,
            };
            if #on {
                ::spanwright::__private::Start::new(&__SPANWRIGHT_SITE)
                    #parent
                    #(#links)*
                    .start(#record)
            } else {
                ::core::option::Option::None
            }
        }
    }
}

/// The closure that classifies the return value once the body has finished.
fn classify(plan: &Plan<'_>) -> TokenStream {
    let value = quote!(__spanwright_value);
    let probe = quote!((&&&&::spanwright::__private::probe::Probe(#value)));
    let ret = if plan.ret {
        quote!(#probe.__spanwright_ret())
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        |#value| {
            #[allow(unused_imports)]
            use ::spanwright::__private::probe::{
                FailureDebug as _, FailureDisplay as _, FailureNone as _, FailureOpaque as _,
                RetDebug as _, RetOkDebug as _, RetOkValue as _, RetValue as _,
            };
            ::spanwright::__private::Outcome {
                failure: #probe.__spanwright_failure(),
                ret: #ret,
            }
        }
    }
}

/// Statements that destructure again the parameters recorded whole.
fn rebinds(plan: &Plan<'_>) -> TokenStream {
    let lets = plan
        .function
        .params
        .iter()
        .filter_map(|p| p.rebind.as_ref())
        .map(|(whole, pattern)| quote!(let #pattern = #whole;));
    quote!(#(#lets)*)
}

/// The sync body. Everything lives in one closure of an `on` flag, called with a
/// constant on each side of the enabled check, so that the disabled call folds
/// down to the plain body: no frame, no spilled arguments, no span code.
fn sync_body(plan: &Plan<'_>) -> TokenStream {
    let start = start(plan, quote!(__spanwright_on));
    let classify = classify(plan);
    let rebinds = rebinds(plan);
    let stmts = &plan.function.block.stmts;
    let output = plan.function.body_output().map(|ty| quote!(-> #ty));
    quote! {
        ::spanwright::__private::dispatch(move |__spanwright_on: bool| #output {
            ::spanwright::__private::run_sync(
                #start,
                move || #output { #rebinds #(#stmts)* },
                #classify,
            )
        })
    }
}

/// The body as an inner future. It does not `move`: it borrows the parameters the
/// outer future already holds (taking by value only what the body moves), so they
/// are not stored twice.
fn async_body(plan: &Plan<'_>, stmts: TokenStream) -> TokenStream {
    let start = start(plan, quote!(::spanwright::__private::enabled()));
    let classify = classify(plan);
    let rebinds = rebinds(plan);
    // A typed `return` that never runs gives the block the function's return type,
    // so rustc checks the body against it and reports mismatches in the body itself.
    let typed = plan.function.body_output().map(|ty| {
        let typed_return = quote_spanned! {ty.span()=>
            let __spanwright_typed: #ty = loop {};
            return __spanwright_typed;
        };
        quote! {
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                #typed_return
            }
        }
    });
    let body = quote!(async { #typed #rebinds #stmts });
    quote! {
        ::spanwright::__private::Instrumented::new(#start, #body, #classify).await
    }
}

/// Adds what `#[traced_job]`'s `init` and `flush` do around the instrumented call.
fn wrap_job(plan: &Plan<'_>, run: TokenStream) -> TokenStream {
    if !plan.init && !plan.flush {
        return run;
    }
    let init = plan
        .init
        .then(|| quote!(let __spanwright_telemetry = ::spanwright::__private::init_for_main();));
    let flush = plan.flush.then(|| match plan.function.shape {
        Shape::Sync => quote!(::spanwright::__private::flush();),
        // An async job awaits the flush: its executor's thread is not blocked.
        Shape::Async | Shape::AsyncBlock => quote!(::spanwright::__private::flush_async().await;),
    });
    let shutdown = plan
        .init
        .then(|| quote!(::core::mem::drop(__spanwright_telemetry);));
    quote! {
        #init
        let __spanwright_result = #run;
        #flush
        #shutdown
        __spanwright_result
    }
}

fn stmts_tokens(stmts: &[syn::Stmt]) -> TokenStream {
    quote!(#(#stmts)*)
}
