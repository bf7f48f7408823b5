//! Parsing the macro's arguments into [`Options`]: syntax only. A malformed option
//! is reported and skipped, so every mistake in one attribute is reported at once.

use crate::Macro;
use crate::keys::did_you_mean;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, LitStr, Token};

/// The options of `#[span]` / `#[traced_job]`, each as written.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<Expr>,
    pub(crate) kind: Option<Expr>,
    pub(crate) attrs: Vec<AttrSpec>,
    pub(crate) ret: Option<Ident>,
    pub(crate) status_ok: Option<Ident>,
    pub(crate) metrics: Option<Ident>,
    pub(crate) parent: Option<(Ident, Expr)>,
    pub(crate) root: Option<Ident>,
    pub(crate) links: Vec<Expr>,
    /// Where `link` / `links` were given, to report a repeat.
    pub(crate) link_keys: Vec<Ident>,
    pub(crate) allow_sensitive: Option<Ident>,
    /// `crate = path`: where the runtime is reached.
    pub(crate) krate: Option<Expr>,
    pub(crate) id: Option<Expr>,
    pub(crate) attempt: Option<Expr>,
    pub(crate) flush: Option<Ident>,
    pub(crate) init: Option<Ident>,
}

/// One `key = value` (or shorthand) inside `attrs(...)`.
pub(crate) struct AttrSpec {
    pub(crate) key: String,
    /// The key as written, for error spans.
    pub(crate) key_tokens: TokenStream,
    /// Written as a string literal (`"model.name" = ..`).
    pub(crate) quoted: bool,
    pub(crate) value: AttrExpr,
}

pub(crate) enum AttrExpr {
    /// `key`, `%key`, `?key`: the parameter named `key`.
    Bare(Format),
    /// `key = expr`, `key = %expr`, `key = ?expr`.
    Expr(Format, Expr),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Typed,
    Display,
    Debug,
}

const SPAN_OPTIONS: &[&str] = &[
    "name",
    "kind",
    "attrs",
    "ret",
    "status_ok",
    "metrics",
    "parent",
    "root",
    "link",
    "links",
    "allow_sensitive",
    "crate",
];
const JOB_OPTIONS: &[&str] = &["id", "attempt", "flush", "init"];

/// Parses the arguments; returns what parsed, and the errors of what did not.
pub(crate) fn parse(which: Macro, args: TokenStream) -> (Options, Option<syn::Error>) {
    let mut options = Options::default();
    let mut errors = Errors::default();
    let parser = |input: ParseStream<'_>| {
        parse_list(input, &mut errors, |input, errors| {
            parse_option(which, input, &mut options, errors)
        });
        Ok(())
    };
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    (options, errors.into_error())
}

#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// Parses comma-separated items; an item that fails is reported and skipped up to
/// the next comma.
fn parse_list(
    input: ParseStream<'_>,
    errors: &mut Errors,
    mut item: impl FnMut(ParseStream<'_>, &mut Errors) -> syn::Result<()>,
) {
    while !input.is_empty() {
        let fork = input.fork();
        match item(&fork, errors) {
            Ok(()) => input.advance_to(&fork),
            Err(error) => {
                errors.push(error);
                skip_past_comma(input);
                continue;
            }
        }
        if input.is_empty() {
            break;
        }
        if input.parse::<Token![,]>().is_err() {
            errors.push(input.error("expected `,` between options"));
            skip_past_comma(input);
        }
    }
}

fn skip_past_comma(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((token, next)) = rest.token_tree() {
            rest = next;
            if let proc_macro2::TokenTree::Punct(p) = &token
                && p.as_char() == ','
            {
                break;
            }
        }
        Ok(((), rest))
    });
}

fn parse_option(
    which: Macro,
    input: ParseStream<'_>,
    options: &mut Options,
    errors: &mut Errors,
) -> syn::Result<()> {
    let key = Ident::parse_any(input)?;
    let name = key.to_string();
    let allowed = |option: &str| {
        SPAN_OPTIONS.contains(&option)
            || (which == Macro::TracedJob && JOB_OPTIONS.contains(&option))
    };
    if !allowed(&name) {
        // Consume the value too, so the error stays on the key alone.
        skip_value(input)?;
        return Err(unknown_option(which, &key, &allowed));
    }
    let duplicate = || {
        syn::Error::new(
            key.span(),
            format!("duplicate option `{name}`: each option may be given once"),
        )
    };
    macro_rules! once {
        ($slot:expr, $value:expr) => {{
            let value = $value;
            if $slot.is_some() {
                return Err(duplicate());
            }
            $slot = Some(value);
        }};
    }
    match name.as_str() {
        "name" => once!(
            options.name,
            assigned(input, &key, "name = \"storage.download\"")?
        ),
        "kind" => once!(options.kind, assigned(input, &key, "kind = client")?),
        "crate" => once!(
            options.krate,
            assigned(input, &key, "crate = my_facade::spanwright")?
        ),
        "parent" => once!(
            options.parent,
            (
                key.clone(),
                assigned(input, &key, "parent = &message.headers")?
            )
        ),
        "id" => once!(options.id, assigned(input, &key, "id = job.id")?),
        "attempt" => once!(
            options.attempt,
            assigned(input, &key, "attempt = delivery_count")?
        ),
        "ret" => once!(options.ret, flag(input, &key)?),
        "status_ok" => once!(options.status_ok, flag(input, &key)?),
        "metrics" => once!(options.metrics, flag(input, &key)?),
        "root" => once!(options.root, flag(input, &key)?),
        "allow_sensitive" => once!(options.allow_sensitive, flag(input, &key)?),
        "flush" => once!(options.flush, flag(input, &key)?),
        "init" => once!(options.init, flag(input, &key)?),
        "link" => {
            if options.link_keys.iter().any(|k| k == "link") {
                return Err(duplicate());
            }
            options.link_keys.push(key.clone());
            let value = assigned(input, &key, "link = &message.headers")?;
            options.links.push(value);
        }
        "links" => {
            if options.link_keys.iter().any(|k| k == "links") {
                return Err(duplicate());
            }
            options.link_keys.push(key.clone());
            let content = listed(input, &key, "links(&a.headers, &b.headers)")?;
            let parser = |input: ParseStream<'_>| {
                parse_list(input, errors, |input, _| {
                    options.links.push(input.parse()?);
                    Ok(())
                });
                Ok(())
            };
            parser.parse2(content)?;
        }
        "attrs" => {
            let content = listed(input, &key, "attrs(job.id = id, model.name = %model)")?;
            let parser = |input: ParseStream<'_>| {
                parse_list(input, errors, |input, _| {
                    options.attrs.push(parse_attr_spec(input)?);
                    Ok(())
                });
                Ok(())
            };
            parser.parse2(content)?;
        }
        _ => unreachable!("every allowed option is matched"),
    }
    Ok(())
}

fn unknown_option(which: Macro, key: &Ident, allowed: &dyn Fn(&str) -> bool) -> syn::Error {
    let name = key.to_string();
    if which == Macro::Span && JOB_OPTIONS.contains(&name.as_str()) {
        return syn::Error::new(
            key.span(),
            format!("`{name}` is an option of #[traced_job], not of #[span]"),
        );
    }
    let candidates: Vec<&str> = SPAN_OPTIONS
        .iter()
        .chain(JOB_OPTIONS)
        .copied()
        .filter(|o| allowed(o))
        .collect();
    let hint = match did_you_mean(&name, &candidates) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!("; expected one of: {}", candidates.join(", ")),
    };
    syn::Error::new(
        key.span(),
        format!("unknown option `{name}` for #[{}]{hint}", which.name()),
    )
}

fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
    } else if input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in input);
    }
    Ok(())
}

fn assigned(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<Expr> {
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span(),
            format!("option `{key}` needs a value: `{example}`"),
        ));
    }
    input.parse::<Token![=]>()?;
    input.parse::<Expr>()
}

fn flag(input: ParseStream<'_>, key: &Ident) -> syn::Result<Ident> {
    if input.peek(Token![=]) || input.peek(syn::token::Paren) {
        let start = input.span();
        skip_value(input)?;
        return Err(syn::Error::new(
            start,
            format!("option `{key}` takes no value: write just `{key}`"),
        ));
    }
    Ok(key.clone())
}

fn listed(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<TokenStream> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key.span(),
            format!("option `{key}` takes a parenthesized list: `{example}`"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    content.parse()
}

fn parse_attr_spec(input: ParseStream<'_>) -> syn::Result<AttrSpec> {
    let leading = sigil(input)?;
    let (key, key_tokens, quoted) = if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        (lit.value(), lit.to_token_stream(), true)
    } else {
        dotted_key(input)?
    };
    if leading != Format::Typed || !input.peek(Token![=]) {
        if quoted && !input.peek(Token![=]) {
            return Err(syn::Error::new_spanned(
                &key_tokens,
                format!("a quoted key needs a value: `\"{key}\" = expr`"),
            ));
        }
        if input.peek(Token![=]) {
            return Err(input.error(
                "`%` and `?` go before the value, not the key: `key = %expr` or `key = ?expr`",
            ));
        }
        return Ok(AttrSpec {
            key,
            key_tokens,
            quoted,
            value: AttrExpr::Bare(leading),
        });
    }
    input.parse::<Token![=]>()?;
    let format = sigil(input)?;
    let value: Expr = input.parse()?;
    Ok(AttrSpec {
        key,
        key_tokens,
        quoted,
        value: AttrExpr::Expr(format, value),
    })
}

fn sigil(input: ParseStream<'_>) -> syn::Result<Format> {
    if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Ok(Format::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Ok(Format::Debug)
    } else {
        Ok(Format::Typed)
    }
}

/// `a.b.c` as identifiers (keywords allowed: `job.type`) or numbers.
fn dotted_key(input: ParseStream<'_>) -> syn::Result<(String, TokenStream, bool)> {
    let mut text = String::new();
    let mut tokens = TokenStream::new();
    loop {
        if input.peek(syn::LitInt) || input.peek(syn::LitFloat) {
            // `a.1` lexes as a number; keep it so validation can explain.
            let lit: syn::Lit = input.parse()?;
            text.push_str(&lit.to_token_stream().to_string());
            lit.to_tokens(&mut tokens);
        } else if input.peek(Ident::peek_any) {
            let segment = Ident::parse_any(input)?;
            text.push_str(&segment.unraw().to_string());
            segment.to_tokens(&mut tokens);
        } else {
            let span = if tokens.is_empty() {
                input.span()
            } else {
                last_span(&tokens)
            };
            return Err(syn::Error::new(
                span,
                "expected an attribute key: `job.id`, `http.status_code` or \"any.key\"",
            ));
        }
        if !input.peek(Token![.]) {
            return Ok((text, tokens, false));
        }
        let dot: Token![.] = input.parse()?;
        dot.to_tokens(&mut tokens);
        text.push('.');
        if !(input.peek(Ident::peek_any) || input.peek(syn::LitInt)) {
            return Err(syn::Error::new(
                dot.span,
                format!("attribute key `{text}` ends with a dot; name the last segment"),
            ));
        }
    }
}

fn last_span(tokens: &TokenStream) -> Span {
    tokens
        .clone()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |t| t.span())
}
