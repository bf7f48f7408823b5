//! Expansion: the instrumented function. Generated code reaches the runtime only
//! through its hidden module (`::spanwright::__private`, or `<crate = path>::__private`),
//! and its own local names are hygienic (mixed-site): the body cannot see them,
//! and they cannot capture the body's names.

use crate::Macro;
use crate::ast::{Shape, trailing_async_expr_mut};
use crate::attr::Format;
use crate::valid::{Parent, Plan, SpanName};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// A local name of the expansion, invisible to the user's code.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// `tokens` placed at `span`: the runtime path in a call whose errors belong to
/// the user's expression.
fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

pub(crate) fn expand(plan: &Plan<'_>) -> TokenStream {
    let function = plan.function;
    let outer_attrs = &function.outer_attrs;
    let inner_attrs = &function.inner_attrs;
    let vis = &function.vis;
    let mut sig = function.sig.clone();
    let body = match function.shape {
        Shape::Sync if tracks_caller(plan) => {
            let run = tracked_body(plan);
            wrap_job(plan, run)
        }
        Shape::Sync => {
            let run = sync_body(plan);
            wrap_job(plan, run)
        }
        // `main` under `init` stays an `async fn` (an executor's attribute may
        // follow), which installs telemetry before the span's context is taken.
        Shape::Async if plan.init => {
            let future = deferred_body(plan, &mut sig, false);
            let future_local = local("__spanwright_future");
            let run = wrap_job(plan, quote!(#future_local.await));
            quote! {
                let #future_local = { #future };
                #run
            }
        }
        Shape::Async => {
            let future = deferred_body(plan, &mut sig, true);
            then_flush(plan, future)
        }
        Shape::AsyncBlock => {
            // Statements before the trailing async block stay as they are; the
            // span covers the block's execution, its parent taken where the block
            // is made.
            let mut block = function.block.clone();
            let expr = trailing_async_expr_mut(&mut block).expect("shape checked by ast");
            let syn::Expr::Async(mut inner) = expr.clone() else {
                unreachable!("shape checked by ast")
            };
            let rt = &plan.runtime;
            let typed = typed_return(plan);
            let rebinds = rebinds(plan);
            let stmts = stmts_tokens(&inner.block.stmts);
            let deferred = deferred_block(plan, quote!(), quote!(#typed { #rebinds #stmts }));
            inner.block = syn::parse_quote!(#deferred);
            let classify = classify(plan);
            let future = then_flush(plan, quote!(#rt::Instrumented::deferred(#inner, #classify)));
            *expr = syn::parse_quote!({ #future });
            stmts_tokens(&block.stmts)
        }
    };
    // The body keeps the span of the braces as written, so that lints about the
    // function (an unused function's `dead_code`) still fire.
    let mut block = TokenStream::new();
    function.block.brace_token.surround(&mut block, |tokens| {
        tokens.extend(quote!(#(#inner_attrs)* #body));
    });
    // An `async fn` made a plain `fn` only builds its future: inlined across
    // crates, as the `async fn`'s own constructor would be (unless the user says).
    let inline = (sig.asyncness.is_none()
        && function.shape == Shape::Async
        && !function
            .outer_attrs
            .iter()
            .any(|a| a.path().is_ident("inline")))
    .then(|| quote!(#[inline]));
    quote! {
        #(#outer_attrs)*
        #inline
        #vis #sig #block
    }
}

/// The static call site and the expression that starts the span when `on`.
fn start(plan: &Plan<'_>, on: TokenStream) -> TokenStream {
    let rt = &plan.runtime;
    let function = plan.function;
    let name = plan.name.pattern();
    let kind = &plan.kind;
    let fn_name = syn::ext::IdentExt::unraw(&function.sig.ident).to_string();
    let line = quote_spanned!(function.sig.ident.span()=> ::core::line!());
    let attr_count = plan.attrs.len();
    let status_ok = plan.status_ok;
    let metrics = plan.metrics;
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
    let span = local("__spanwright_span");
    let site = local("__SPANWRIGHT_SITE");
    let rename = match &plan.name {
        SpanName::Fixed(_) => quote!(),
        SpanName::Template { format, args, .. } => quote! {
            #span.name(#rt::format!(#format, #(#args),*));
        },
    };
    let sets = plan.attrs.iter().map(|attr| {
        let key = &attr.key;
        let value = &attr.value;
        let at = respan(rt, value.span());
        let key = quote!(#rt::Key::from_static_str(#key));
        match attr.format {
            Format::Typed => {
                let typed = quote_spanned!(value.span()=> #at::to_value(&(#value)));
                quote! { #span.typed(#key, #typed); }
            }
            Format::Display => {
                let text = quote_spanned!(value.span()=> #at::display_value(&(#value)));
                quote! { #span.attr(#key, #text); }
            }
            Format::Debug => {
                let text = quote_spanned!(value.span()=> #at::debug_value(&(#value)));
                quote! { #span.attr(#key, #text); }
            }
        }
    });
    let record = if plan.attrs.is_empty() && matches!(plan.name, SpanName::Fixed(_)) {
        quote!(|_| {})
    } else {
        quote!(|#span| { #rename #(#sets)* })
    };
    quote! {
        {
            static #site: #rt::Site = #rt::Site {
                name: #name,
                kind: #rt::SpanKind::#kind,
                function: ::core::concat!(::core::module_path!(), "::", #fn_name),
                file: ::core::file!(),
                line: #line,
                attrs: #attr_count,
                status_ok: #status_ok,
                job: #job,
                metrics: #metrics,
                code: true,
                scope: #rt::cargo_or(::core::option_env!("CARGO_PKG_NAME"), "unknown"),
                scope_version: #rt::cargo_or(::core::option_env!("CARGO_PKG_VERSION"), ""),
                filter: #rt::FilterCache::new(),
            };
            if #on && #site.allowed() {
                #rt::Start::new(&#site)
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
    let rt = &plan.runtime;
    let value = local("__spanwright_value");
    let probe = quote!((&&&&#rt::probe::Probe(#value)));
    let ret = if plan.ret {
        quote!(#probe.__spanwright_ret())
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        |#value| {
            #[allow(unused_imports)]
            use #rt::probe::{
                FailureDebug as _, FailureDisplay as _, FailureNone as _, FailureOpaque as _,
                RetDebug as _, RetOkDebug as _, RetOkValue as _, RetValue as _,
            };
            #rt::Outcome {
                failure: #probe.__spanwright_failure(),
                ret: #ret,
                ..::core::default::Default::default()
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
    let rt = &plan.runtime;
    let on = local("__spanwright_on");
    let start = start(plan, quote!(#on));
    let classify = classify(plan);
    let rebinds = rebinds(plan);
    let mut block = plan.function.block.clone();
    let mut leave = crate::inline::LeaveBlock {
        label: None,
        runtime: rt,
    };
    for stmt in &mut block.stmts {
        syn::visit_mut::VisitMut::visit_stmt_mut(&mut leave, stmt);
    }
    let stmts = &block.stmts;
    let output = plan.function.body_output().map(|ty| quote!(-> #ty));
    quote! {
        #rt::dispatch(move |#on: ::core::primitive::bool| #output {
            #rt::run_sync(
                #start,
                move || #output { #rebinds #(#stmts)* },
                #classify,
            )
        })
    }
}

fn tracks_caller(plan: &Plan<'_>) -> bool {
    plan.function
        .outer_attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"))
}

/// A `#[track_caller]` function's body, inline: a closure would report itself as
/// the caller. The body's `return`s and `?`s leave a labeled block instead (see
/// `inline`); the span is current while a scope guard lives, and a panic is
/// recorded from the hook's record as the guard drops.
fn tracked_body(plan: &Plan<'_>) -> TokenStream {
    let rt = &plan.runtime;
    let start = start(plan, quote!(#rt::enabled()));
    let classify = classify(plan);
    let rebinds = rebinds(plan);
    let label = syn::Lifetime {
        apostrophe: Span::mixed_site(),
        ident: local("__spanwright_body"),
    };
    let mut block = plan.function.block.clone();
    let mut leave = crate::inline::LeaveBlock {
        label: Some(&label),
        runtime: rt,
    };
    for stmt in &mut block.stmts {
        syn::visit_mut::VisitMut::visit_stmt_mut(&mut leave, stmt);
    }
    let stmts = &block.stmts;
    let output = plan.function.body_output().map(|ty| quote!(: #ty));
    let scope = local("__spanwright_scope");
    let value = local("__spanwright_value");
    quote! {
        let #scope = #rt::Scope::enter(#start);
        #[allow(unreachable_code, clippy::needless_return, clippy::diverging_sub_expression)]
        let #value #output = #label: { #rebinds #(#stmts)* };
        // Unreachable when the body always panics (the scope's drop records it).
        #[allow(unreachable_code)]
        let #value = {
            #scope.finish(&#value, #classify);
            #value
        };
        #value
    }
}

/// A job's future that flushes the exporter once its span has ended: awaited
/// in an outer future, so that the span's context is still taken at the call.
fn then_flush(plan: &Plan<'_>, future: TokenStream) -> TokenStream {
    if !plan.flush {
        return future;
    }
    let future_local = local("__spanwright_future");
    let run = wrap_job(plan, quote!(#future_local.await));
    quote! {
        let #future_local = { #future };
        async move { #run }
    }
}

/// An `async fn` becomes a plain `fn` returning `Instrumented::deferred` over one
/// `async move` block that holds the parameters. The wrapper keeps the context
/// current at the call (the span's parent); at its first poll the block starts
/// the span (the attribute expressions borrow the parameters) and hands the
/// recording to the wrapper, which makes it current from then on. One state
/// machine, the parameters stored once. With `plain_fn` false (`main` under
/// `init`) the function stays an `async fn` around that future. The `impl` of the return type is
/// spanned at the macro's own (2024) edition, so the future captures every
/// lifetime and type parameter, as an `async fn`'s does, in a crate of any
/// edition.
fn deferred_body(plan: &Plan<'_>, sig: &mut syn::Signature, plain_fn: bool) -> TokenStream {
    let rt = &plan.runtime;
    let classify = classify(plan);
    let rebinds = rebinds(plan);
    let typed = typed_return(plan);
    let stmts = stmts_tokens(&plan.function.block.stmts);
    // Each parameter is held by the body's future until it completes, as an
    // `async fn` holds it, even one the body never mentions (a guard, a permit).
    let mut holds = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            syn::FnArg::Receiver(receiver) => {
                let this = &receiver.self_token;
                holds.push(quote!(let _ = &#this;));
            }
            syn::FnArg::Typed(typed) => match &*typed.pat {
                syn::Pat::Ident(pat) if pat.subpat.is_none() && pat.by_ref.is_none() => {
                    let name = &pat.ident;
                    holds.push(quote!(let _ = &#name;));
                }
                _ => {
                    let hidden = local(&format!("__spanwright_param{index}"));
                    let pattern = std::mem::replace(&mut *typed.pat, syn::parse_quote!(#hidden));
                    // Moved in first: what the pattern leaves (a `_`) lives on.
                    holds.push(quote! {
                        #[allow(clippy::redundant_locals)]
                        let #hidden = #hidden;
                        let #pattern = #hidden;
                    });
                }
            },
        }
    }
    if plain_fn {
        sig.asyncness = None;
        let (output, at) = match &sig.output {
            syn::ReturnType::Default => (quote!(()), sig.ident.span()),
            syn::ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
        };
        // Errors about the future (an unmet `impl Trait` bound) point at the return type.
        let impl_token = syn::Token![impl](Span::mixed_site().located_at(at));
        sig.output = syn::parse_quote!(-> #impl_token ::core::future::Future<Output = #output>);
    }
    let body_future = local("__spanwright_body");
    let deferred = deferred_block(plan, quote!(#(#holds)*), quote!(#typed { #rebinds #stmts }));
    quote! {
        #[allow(clippy::async_yields_async)]
        let #body_future = async move #deferred;
        #rt::Instrumented::deferred(#body_future, #classify)
    }
}

/// The block of a deferred body: `prelude` (what holds the parameters), then at
/// its first poll the span starts (if the wrapper's ticket says so) and is
/// handed over to the wrapper, then `body` runs.
fn deferred_block(plan: &Plan<'_>, prelude: TokenStream, body: TokenStream) -> TokenStream {
    let rt = &plan.runtime;
    let handover = local("__spanwright_handover");
    let start = start(plan, quote!(true));
    // The start is a closure of its own: a temporary in `parent = &..` is
    // dropped before the `.await`, and only the one-byte hand-over lives across it.
    quote! {
        {
            #prelude
            if let ::core::option::Option::Some(#handover) = #rt::start_deferred(|| #start) {
                #handover.await;
            }
            #body
        }
    }
}

/// A typed `return` that never runs gives the block the function's return type
/// (`impl Trait` in it inferred), so rustc checks the body against it and
/// reports mismatches in the body itself.
fn typed_return(plan: &Plan<'_>) -> Option<TokenStream> {
    plan.function.body_output().map(|ty| {
        // At the return type, so rustc's note points there. It lives in a block
        // of its own, which the body cannot see into.
        let typed = Ident::new("__spanwright_typed", ty.span());
        let typed_return = quote_spanned! {ty.span()=>
            let #typed: #ty = loop {};
            return #typed;
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
    })
}

/// Adds what `#[traced_job]`'s `init` and `flush` do around the instrumented call.
fn wrap_job(plan: &Plan<'_>, run: TokenStream) -> TokenStream {
    if !plan.init && !plan.flush {
        return run;
    }
    let rt = &plan.runtime;
    let telemetry = local("__spanwright_telemetry");
    let result = local("__spanwright_result");
    let init = plan
        .init
        .then(|| quote!(let #telemetry = #rt::init_for_main();));
    let flush = plan.flush.then(|| match plan.function.shape {
        Shape::Sync => quote!(#rt::flush();),
        // An async job awaits the flush: its executor's thread is not blocked.
        Shape::Async | Shape::AsyncBlock => quote!(#rt::flush_async().await;),
    });
    let shutdown = plan.init.then(|| quote!(::core::mem::drop(#telemetry);));
    quote! {
        #init
        let #result = #run;
        #flush
        #shutdown
        #result
    }
}

fn stmts_tokens(stmts: &[syn::Stmt]) -> TokenStream {
    quote!(#(#stmts)*)
}
