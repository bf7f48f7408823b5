//! Validation: checks the parsed options against the function and each other,
//! collecting every mistake (each spanned at the offending token), and turns
//! valid input into a [`Plan`] for expansion.

use crate::Macro;
use crate::ast::Function;
use crate::attr::{AttrExpr, Errors, Format, Options};
use crate::keys::{self, JOB_END_KEYS, LOCATION_KEYS, OUTCOME_KEYS};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit};

/// Everything expansion needs, already checked.
pub(crate) struct Plan<'a> {
    pub(crate) which: Macro,
    pub(crate) function: &'a Function,
    pub(crate) name: SpanName,
    pub(crate) kind: Ident,
    pub(crate) attrs: Vec<Recorded>,
    pub(crate) ret: bool,
    pub(crate) status_ok: bool,
    /// `metrics`: the call's end records `function.calls` and its duration.
    pub(crate) metrics: bool,
    pub(crate) parent: Parent,
    pub(crate) links: Vec<Expr>,
    pub(crate) flush: bool,
    pub(crate) init: bool,
    /// The path of the runtime's hidden module: `::spanwright::__private`, or
    /// `<crate = path>::__private`.
    pub(crate) runtime: TokenStream,
}

pub(crate) enum SpanName {
    Fixed(String),
    /// `"process_job.{job_type}"`: the pattern (what the sampler sees), and the
    /// `format!` string and arguments that fill it in.
    Template {
        pattern: String,
        format: String,
        args: Vec<Ident>,
    },
}

impl SpanName {
    pub(crate) fn pattern(&self) -> &str {
        match self {
            SpanName::Fixed(name) => name,
            SpanName::Template { pattern, .. } => pattern,
        }
    }
}

/// One attribute to set at span start.
pub(crate) struct Recorded {
    pub(crate) key: String,
    pub(crate) format: Format,
    pub(crate) value: TokenStream,
}

pub(crate) enum Parent {
    Current,
    Root,
    Carrier(Expr),
}

const KINDS: &[(&str, &str)] = &[
    ("internal", "Internal"),
    ("server", "Server"),
    ("client", "Client"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

pub(crate) fn check(
    which: Macro,
    options: Options,
    function: &Function,
    parse_errors: Option<syn::Error>,
) -> Result<Plan<'_>, syn::Error> {
    let mut errors = Errors::default();
    if let Some(error) = parse_errors {
        errors.push(error);
    }
    for error in &function.errors {
        errors.push(error.clone());
    }
    if let Some(constness) = &function.sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            format!(
                "#[{}] cannot instrument a `const fn`: spans are created at run time; remove `const` or the attribute",
                which.name()
            ),
        ));
    }
    let allow_sensitive = options.allow_sensitive.is_some();

    let name = match &options.name {
        None => SpanName::Fixed(function.sig.ident.unraw_string()),
        Some(expr) => span_name(expr, function, allow_sensitive, &mut errors),
    };
    let kind = match &options.kind {
        None if which == Macro::TracedJob => Ident::new("Consumer", Span::call_site()),
        None => Ident::new("Internal", Span::call_site()),
        Some(expr) => span_kind(expr, &mut errors),
    };

    let mut keys = KeyRegistry::new(which, &options);
    let mut attrs = Vec::new();
    for spec in &options.attrs {
        let span = first_span(&spec.key_tokens);
        if keys.check(&spec.key, &spec.key_tokens, allow_sensitive, &mut errors) {
            continue;
        }
        let value = match &spec.value {
            AttrExpr::Expr(format, expr) => (*format, expr.to_token_stream()),
            AttrExpr::Bare(format) => match function.param_named(&spec.key) {
                Some(param) if !spec.quoted => {
                    let name = param.name.as_ref().expect("named parameter");
                    (
                        *format,
                        Ident::new(&name.to_string(), span).to_token_stream(),
                    )
                }
                _ => {
                    errors.push(syn::Error::new_spanned(
                        &spec.key_tokens,
                        format!(
                            "`{}` names no parameter of this function; a bare key records the parameter of that name: write `{} = expr`",
                            spec.key, spec.key
                        ),
                    ));
                    continue;
                }
            },
        };
        attrs.push(Recorded {
            key: spec.key.clone(),
            format: value.0,
            value: value.1,
        });
    }
    for param in &function.params {
        for annotation in &param.annotations {
            let (key, key_tokens) = match (&annotation.key, &param.name) {
                (Some(lit), _) => (lit.value(), lit.to_token_stream()),
                (None, Some(name)) => (name.to_string(), annotation.attr.to_token_stream()),
                (None, None) => {
                    errors.push(syn::Error::new_spanned(
                        &annotation.attr,
                        "a destructured parameter has no name to use as its key: write #[attr(\"key\")]",
                    ));
                    continue;
                }
            };
            if keys.check(&key, &key_tokens, allow_sensitive, &mut errors) {
                continue;
            }
            let value = match (&param.rebind, &param.name) {
                (Some((whole, _)), _) => whole.to_token_stream(),
                (None, Some(name)) => name.to_token_stream(),
                (None, None) => continue,
            };
            attrs.push(Recorded {
                key,
                format: Format::Typed,
                value,
            });
        }
    }
    for (key, expr) in [("job.id", &options.id), ("job.attempt", &options.attempt)] {
        if let Some(expr) = expr {
            attrs.push(Recorded {
                key: key.into(),
                format: Format::Typed,
                value: expr.to_token_stream(),
            });
        }
    }

    let parent = match (&options.parent, &options.root) {
        (Some(_), Some(root)) => {
            errors.push(syn::Error::new(
                root.span(),
                "`root` and `parent` contradict each other: a span either starts a new trace or continues the carrier's; remove one",
            ));
            Parent::Root
        }
        (Some((_, carrier)), None) => Parent::Carrier(carrier.clone()),
        (None, Some(_)) => Parent::Root,
        (None, None) if which == Macro::TracedJob => Parent::Root,
        (None, None) => Parent::Current,
    };
    if let Some(init) = &options.init
        && function.sig.ident != "main"
    {
        {
            errors.push(syn::Error::new(
                init.span(),
                format!(
                    "`init` is only for `main`: it starts telemetry before the job and shuts it down after; `{}` is not `main`. Call `spanwright::init()` in `main` instead",
                    function.sig.ident
                ),
            ));
        }
    }

    let runtime = runtime_path(options.krate.as_ref(), &mut errors);
    match errors.into_error() {
        Some(error) => Err(error),
        None => Ok(Plan {
            runtime,
            which,
            function,
            name,
            kind,
            attrs,
            ret: options.ret.is_some(),
            status_ok: options.status_ok.is_some(),
            metrics: options.metrics.is_some(),
            parent,
            links: options.links,
            flush: options.flush.is_some(),
            init: options.init.is_some(),
        }),
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

fn first_span(tokens: &TokenStream) -> Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

fn span_name(
    expr: &Expr,
    function: &Function,
    allow_sensitive: bool,
    errors: &mut Errors,
) -> SpanName {
    let fallback = SpanName::Fixed(function.sig.ident.unraw_string());
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(lit), ..
    }) = ungrouped(expr)
    else {
        errors.push(syn::Error::new_spanned(
            expr,
            "`name` must be a string literal: `name = \"storage.download\"`",
        ));
        return fallback;
    };
    let text = lit.value();
    if text.trim().is_empty() {
        errors.push(syn::Error::new(
            lit.span(),
            "`name` must not be empty: write the span name, or leave `name` out to use the function's name",
        ));
        return fallback;
    }
    match parse_template(&text) {
        Err(problem) => {
            errors.push(syn::Error::new(
                lit.span(),
                format!("in the name template: {problem}"),
            ));
            fallback
        }
        Ok((_, args)) if args.is_empty() => {
            SpanName::Fixed(text.replace("{{", "{").replace("}}", "}"))
        }
        Ok((format, args)) => {
            let mut idents = Vec::new();
            for arg in args {
                match function.param_named(&arg) {
                    Some(_) => {
                        if let (false, Some(segment)) =
                            (allow_sensitive, keys::sensitive_segment(&arg))
                        {
                            errors.push(sensitive_error(lit.span(), &arg, segment));
                        }
                        idents.push(Ident::new(&arg, lit.span()));
                    }
                    None => {
                        let params: Vec<String> = function
                            .params
                            .iter()
                            .filter_map(|p| p.name.as_ref().map(ToString::to_string))
                            .collect();
                        let refs: Vec<&str> = params.iter().map(String::as_str).collect();
                        let hint = match keys::did_you_mean(&arg, &refs) {
                            Some(close) => format!("; did you mean `{{{close}}}`?"),
                            None if refs.is_empty() => "; the function has no parameters".into(),
                            None => format!("; the parameters are: {}", refs.join(", ")),
                        };
                        errors.push(syn::Error::new(
                            lit.span(),
                            format!("the name template uses `{{{arg}}}`, but the function has no parameter `{arg}`{hint}"),
                        ));
                    }
                }
            }
            SpanName::Template {
                pattern: text,
                format,
                args: idents,
            }
        }
    }
}

/// Splits `"a.{x}.b"` into the `format!` string `"a.{}.b"` and its parameter names.
fn parse_template(text: &str) -> Result<(String, Vec<String>), String> {
    let mut format = String::new();
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                format.push_str("{{");
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => {
                            return Err(format!(
                                "`{{{name}` is not closed; write `{{{name}}}`, or `{{{{` for a literal brace"
                            ));
                        }
                    }
                }
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!(
                        "`{{{name}}}` must name a parameter, like `{{job_type}}`"
                    ));
                }
                format.push_str("{}");
                args.push(name);
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                format.push_str("}}");
            }
            '}' => return Err("unmatched `}`; write `}}` for a literal brace".into()),
            c => format.push(c),
        }
    }
    Ok((format, args))
}

fn span_kind(expr: &Expr, errors: &mut Errors) -> Ident {
    let valid: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    let written = match ungrouped(expr) {
        Expr::Path(path) if path.path.segments.len() > 1 => {
            let last = path
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            let shown: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let hint = match KINDS.iter().find(|(k, _)| last.eq_ignore_ascii_case(k)) {
                Some((kind, _)) => format!("write the kind alone: `kind = {kind}`"),
                None => format!("expected one of {}", valid.join(", ")),
            };
            errors.push(syn::Error::new_spanned(
                expr,
                format!(
                    "`kind` takes a bare word, not the path `{}`; {hint}",
                    shown.join("::")
                ),
            ));
            return Ident::new("Internal", expr.span());
        }
        Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            let text = lit.value();
            let hint = if valid.contains(&text.as_str()) {
                format!("write it without quotes: `kind = {text}`")
            } else {
                format!("expected one of: {}", valid.join(", "))
            };
            errors.push(syn::Error::new(
                lit.span(),
                format!("`kind` is not a string; {hint}"),
            ));
            return Ident::new("Internal", lit.span());
        }
        _ => None,
    };
    match written
        .as_deref()
        .and_then(|w| KINDS.iter().find(|(k, _)| *k == w))
    {
        Some((_, variant)) => Ident::new(variant, expr.span()),
        None => {
            let shown = written.unwrap_or_else(|| expr.to_token_stream().to_string());
            let hint = match keys::did_you_mean(&shown.to_lowercase(), &valid) {
                Some(close) => format!("; did you mean `{close}`?"),
                None => String::new(),
            };
            errors.push(syn::Error::new_spanned(
                expr,
                format!(
                    "unknown span kind `{shown}`: expected one of {}{hint}",
                    valid.join(", ")
                ),
            ));
            Ident::new("Internal", expr.span())
        }
    }
}

fn sensitive_error(span: Span, key: &str, segment: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`{key}` looks like sensitive data (`{segment}`): spans are exported and widely readable. Record something safe instead, or add `allow_sensitive` if this is deliberate"
        ),
    )
}

/// The attribute keys of one span, to catch repeats and keys spanwright sets itself.
struct KeyRegistry {
    seen: Vec<String>,
    reserved: Vec<(&'static str, &'static str)>,
}

impl KeyRegistry {
    fn new(which: Macro, options: &Options) -> Self {
        let mut reserved: Vec<(&str, &str)> = LOCATION_KEYS
            .iter()
            .map(|k| (*k, "spanwright sets it on every span"))
            .chain(
                OUTCOME_KEYS
                    .iter()
                    .map(|k| (*k, "spanwright sets it from the function's outcome")),
            )
            .collect();
        if which == Macro::TracedJob {
            reserved.extend(
                JOB_END_KEYS
                    .iter()
                    .map(|k| (*k, "#[traced_job] sets it when the job ends")),
            );
        }
        if options.id.is_some() {
            reserved.push(("job.id", "the `id` option sets it"));
        }
        if options.attempt.is_some() {
            reserved.push(("job.attempt", "the `attempt` option sets it"));
        }
        KeyRegistry {
            seen: Vec::new(),
            reserved,
        }
    }

    /// Reports what is wrong with `key`; returns true when it must be skipped.
    fn check(
        &mut self,
        key: &str,
        tokens: &TokenStream,
        allow_sensitive: bool,
        errors: &mut Errors,
    ) -> bool {
        let error = |message: String| syn::Error::new_spanned(tokens, message);
        if let Some(problem) = keys::syntax_problem(key) {
            errors.push(error(problem));
            return true;
        }
        if let Some((_, why)) = self.reserved.iter().find(|(k, _)| *k == key) {
            errors.push(error(format!("attribute key `{key}` is reserved: {why}")));
            return true;
        }
        if self.seen.iter().any(|k| k == key) {
            errors.push(error(format!(
                "duplicate attribute key `{key}`: each key may be recorded once per span"
            )));
            return true;
        }
        self.seen.push(key.to_owned());
        if let (false, Some(segment)) = (allow_sensitive, keys::sensitive_segment(key)) {
            let message = sensitive_error(Span::call_site(), key, segment).to_string();
            errors.push(syn::Error::new_spanned(tokens, message));
            return true;
        }
        false
    }
}

/// The expression inside invisible groups: a `macro_rules!` fragment (`$name:literal`,
/// `$kind:ident`) arrives wrapped in one.
fn ungrouped(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}

/// `::spanwright::__private`, or the same module under the path `crate = ..` names.
fn runtime_path(krate: Option<&Expr>, errors: &mut Errors) -> TokenStream {
    match krate.map(ungrouped) {
        None => quote::quote!(::spanwright::__private),
        Some(Expr::Path(path)) if path.qself.is_none() && path.attrs.is_empty() => {
            let path = &path.path;
            quote::quote!(#path::__private)
        }
        Some(other) => {
            errors.push(syn::Error::new_spanned(
                other,
                "`crate` takes the path spanwright is reached through: `crate = my_facade::spanwright`",
            ));
            quote::quote!(::spanwright::__private)
        }
    }
}
