//! The annotated function: its parts, its parameters (with their `#[attr]`
//! annotations taken off) and its shape (sync, async, or a sync function whose
//! body is one async block).

use crate::Macro;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, Expr, FnArg, GenericArgument, Item, LitStr, Pat, PathArguments, ReturnType,
    Signature, Stmt, Type, TypeParamBound, Visibility,
};

pub(crate) struct Function {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    /// The signature with `#[attr]` annotations removed.
    pub(crate) sig: Signature,
    /// `sig` with destructuring patterns as written: what the fallback emits.
    pub(crate) plain_sig: Signature,
    pub(crate) block: Block,
    pub(crate) params: Vec<Param>,
    pub(crate) shape: Shape,
    /// Malformed `#[attr(..)]` annotations, reported by validation.
    pub(crate) errors: Vec<syn::Error>,
}

pub(crate) struct Param {
    /// The binding name: `self` or a plain identifier pattern; `None` when destructured.
    pub(crate) name: Option<syn::Ident>,
    pub(crate) annotations: Vec<Annotation>,
    /// A destructured parameter that is recorded whole: renamed in the signature and
    /// destructured again at the start of the body.
    pub(crate) rebind: Option<(syn::Ident, Pat)>,
}

/// `#[attr]` or `#[attr("key")]` on a parameter.
pub(crate) struct Annotation {
    pub(crate) attr: Attribute,
    pub(crate) key: Option<LitStr>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Sync,
    Async,
    /// A sync function returning a future whose body is `async { .. }` or
    /// `Box::pin(async { .. })`; the span covers the block's execution.
    AsyncBlock,
}

impl Function {
    pub(crate) fn parse(which: Macro, item: TokenStream) -> syn::Result<Self> {
        let item: Item = syn::parse2(item)?;
        let Item::Fn(item) = item else {
            return Err(syn::Error::new(
                item_keyword_span(&item),
                format!(
                    "#[{}] can only be applied to functions and methods with a body",
                    which.name()
                ),
            ));
        };
        let (inner_attrs, outer_attrs) = item
            .attrs
            .into_iter()
            .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        let mut sig = item.sig;
        let mut errors = Vec::new();
        let mut params = Vec::new();
        for (index, input) in sig.inputs.iter_mut().enumerate() {
            params.push(take_param(index, input, &mut errors));
        }
        let mut plain_sig = sig.clone();
        for (input, param) in plain_sig.inputs.iter_mut().zip(&params) {
            if let (FnArg::Typed(typed), Some((_, pattern))) = (input, &param.rebind) {
                *typed.pat = pattern.clone();
            }
        }
        let shape = if sig.asyncness.is_some() {
            Shape::Async
        } else if returns_future(&sig.output) && trailing_async_block(&item.block).is_some() {
            Shape::AsyncBlock
        } else {
            Shape::Sync
        };
        Ok(Function {
            outer_attrs,
            inner_attrs,
            vis: item.vis,
            sig,
            plain_sig,
            block: *item.block,
            params,
            shape,
            errors,
        })
    }

    /// The declared return type, or the future's `Output` for [`Shape::AsyncBlock`],
    /// as it can be written inside the body: each `impl Trait` in it becomes `_`.
    pub(crate) fn body_output(&self) -> Option<Type> {
        let ty = match &self.sig.output {
            ReturnType::Default => return Some(syn::parse_quote!(())),
            ReturnType::Type(_, ty) => &**ty,
        };
        let ty = match self.shape {
            Shape::AsyncBlock => future_output(ty)?,
            Shape::Sync | Shape::Async => ty.clone(),
        };
        let mut ty = ty;
        InferImpl.visit_type_mut(&mut ty);
        Some(ty)
    }

    pub(crate) fn param_named(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.as_ref().is_some_and(|n| n == name))
    }
}

fn take_param(index: usize, input: &mut FnArg, errors: &mut Vec<syn::Error>) -> Param {
    let attrs = match input {
        FnArg::Receiver(receiver) => &mut receiver.attrs,
        FnArg::Typed(typed) => &mut typed.attrs,
    };
    let (ours, theirs): (Vec<_>, Vec<_>) = std::mem::take(attrs)
        .into_iter()
        .partition(|a| a.path().is_ident("attr"));
    *attrs = theirs;
    let annotations: Vec<Annotation> = ours
        .into_iter()
        .filter_map(|attr| match annotation_key(&attr) {
            Ok(key) => Some(Annotation { attr, key }),
            Err(error) => {
                errors.push(error);
                None
            }
        })
        .collect();
    match input {
        FnArg::Receiver(receiver) => Param {
            name: Some(syn::Ident::new("self", receiver.self_token.span)),
            annotations,
            rebind: None,
        },
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(pat) if pat.subpat.is_none() => Param {
                name: Some(pat.ident.clone()),
                annotations,
                rebind: None,
            },
            _ if annotations.iter().any(|a| a.key.is_some()) => {
                let whole = format_ident!("__spanwright_arg{}", index, span = typed.pat.span());
                let pattern = std::mem::replace(&mut *typed.pat, syn::parse_quote!(#whole));
                Param {
                    name: None,
                    annotations,
                    rebind: Some((whole, pattern)),
                }
            }
            _ => Param {
                name: None,
                annotations,
                rebind: None,
            },
        },
    }
}

fn annotation_key(attr: &Attribute) -> syn::Result<Option<LitStr>> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(None),
        syn::Meta::List(list) => list.parse_args::<LitStr>().map(Some).map_err(|_| {
            syn::Error::new_spanned(
                &list.tokens,
                "expected an attribute key as a string literal: #[attr(\"model.name\")], or #[attr] to use the parameter's name",
            )
        }),
        syn::Meta::NameValue(nv) => Err(syn::Error::new_spanned(
            nv,
            "expected #[attr] or #[attr(\"key\")]",
        )),
    }
}

/// The span of the keyword that says what the item is (`struct`, `impl`, ...).
fn item_keyword_span(item: &Item) -> Span {
    let mut tokens = item.to_token_stream().into_iter().peekable();
    // Skip outer attributes (`#` + `[..]`) and visibility to reach the keyword.
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            TokenTree::Ident(i) if i == "pub" => {
                if let Some(TokenTree::Group(_)) = tokens.peek() {
                    tokens.next();
                }
            }
            _ => return token.span(),
        }
    }
    item.span()
}

/// The async block a future-returning body consists of: `async {..}` or
/// `Box::pin(async {..})`.
/// The async block a future-returning body ends in: `async { .. }` or
/// `Box::pin(async { .. })`, after any other statements.
pub(crate) fn trailing_async_block(block: &Block) -> Option<&syn::ExprAsync> {
    let Some(Stmt::Expr(expr, None)) = block.stmts.last() else {
        return None;
    };
    match expr {
        Expr::Async(block) => Some(block),
        Expr::Call(call) => {
            let Expr::Path(func) = &*call.func else {
                return None;
            };
            let last = func.path.segments.last()?;
            match (last.ident == "pin", call.args.len(), call.args.first()) {
                (true, 1, Some(Expr::Async(block))) => Some(block),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The trailing async block as an expression, to be wrapped in place.
pub(crate) fn trailing_async_expr_mut(block: &mut Block) -> Option<&mut Expr> {
    let Some(Stmt::Expr(expr, None)) = block.stmts.last_mut() else {
        return None;
    };
    match expr {
        Expr::Async(_) => Some(expr),
        Expr::Call(call) if call.args.len() == 1 => match call.args.first_mut() {
            Some(inner @ Expr::Async(_)) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

fn returns_future(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => mentions_ident(ty.to_token_stream(), "Future"),
    }
}

/// `T` of `impl Future<Output = T>` or `Pin<Box<dyn Future<Output = T> + ..>>`.
fn future_output(ty: &Type) -> Option<Type> {
    let bounds = match ty {
        Type::ImplTrait(t) => &t.bounds,
        Type::TraitObject(t) => &t.bounds,
        Type::Paren(t) => return future_output(&t.elem),
        Type::Group(t) => return future_output(&t.elem),
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            return args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(inner) => future_output(inner),
                _ => None,
            });
        }
        _ => return None,
    };
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(trait_bound) = bound else {
            return None;
        };
        let last = trait_bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

fn mentions_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions_ident(group.stream(), name),
        _ => false,
    })
}

/// Replaces `impl Trait` with `_`: the rest of the type still guides inference.
struct InferImpl;

impl VisitMut for InferImpl {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}
