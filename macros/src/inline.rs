//! Rewriting a sync body's `?` (and, inline, its `return`). A `#[track_caller]`
//! function's body cannot run in a closure (closures cannot carry the attribute
//! on stable Rust), so it runs in a labeled block, and its own `return`s and `?`s
//! leave that block with the value. Any other sync body runs in a closure, where
//! `?` is rewritten too, so that a misplaced `?` is reported against the function
//! (rustc would speak of a closure the user never wrote). Closures, async blocks
//! and nested items keep theirs.

use proc_macro2::TokenStream;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Lifetime, Stmt};

pub(crate) struct LeaveBlock<'a> {
    /// The labeled block to leave; `None`: the body is a closure's, whose
    /// `return` stays as it is and whose `?` returns from it.
    pub(crate) label: Option<&'a Lifetime>,
    /// The runtime's hidden module, for the `?` traits.
    pub(crate) runtime: &'a TokenStream,
}

impl LeaveBlock<'_> {
    /// `break 'label value`, or `return value` from a closure's body.
    fn leave(&self, value: Expr, at: proc_macro2::Span) -> Expr {
        match self.label {
            Some(label) => Expr::Break(syn::ExprBreak {
                attrs: Vec::new(),
                break_token: syn::Token![break](at),
                label: Some(label.clone()),
                expr: Some(Box::new(value)),
            }),
            None => Expr::Return(syn::ExprReturn {
                attrs: Vec::new(),
                return_token: syn::Token![return](at),
                expr: Some(Box::new(value)),
            }),
        }
    }
}

impl VisitMut for LeaveBlock<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `return` and `?` are their own.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) if self.label.is_some() => {
                if let Some(value) = ret.expr.as_mut() {
                    self.visit_expr_mut(value);
                }
                let value = match ret.expr.take() {
                    Some(value) => *value,
                    None => syn::parse_quote!(()),
                };
                *expr = self.leave(value, ret.return_token.span);
            }
            Expr::Try(question) => {
                self.visit_expr_mut(&mut question.expr);
                // At the `?`: that is where a misplaced one is reported.
                let at = question.question_token.span;
                let rt: TokenStream = self
                    .runtime
                    .clone()
                    .into_iter()
                    .map(|mut token| {
                        token.set_span(at);
                        token
                    })
                    .collect();
                let inner = &question.expr;
                let residual: Expr =
                    syn::parse_quote_spanned!(at=> #rt::FromResidual::from_residual(residual));
                let mut matched: syn::ExprMatch = syn::parse_quote_spanned! {at=>
                    match #rt::Branch::branch(#inner) {
                        ::core::ops::ControlFlow::Continue(value) => value,
                        ::core::ops::ControlFlow::Break(residual) => (),
                    }
                };
                // Built as a node: a label followed by a value does not re-parse.
                *matched.arms[1].body = self.leave(residual, at);
                *expr = Expr::Match(matched);
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _item: &mut Item) {
        // A nested fn, impl or const: its returns are not the body's.
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Item(_) = stmt {
            return;
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }
}
