//! Every function shape the contract lists compiles under `#[span]` in a crate
//! that forbids unsafe code and denies warnings, and each call makes its span.
#![forbid(unsafe_code)]
#![deny(warnings)]
#![deny(clippy::all)]

use spanwright::span;
use spanwright::testing::capture;
use spanwright_tests::block_on;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;

/// Doc comments stay on the function.
#[span]
#[must_use]
pub fn free_function(x: i32) -> i32 {
    x + 1
}

#[derive(Default)]
pub struct Counter {
    n: u32,
}

impl Counter {
    #[span]
    fn by_ref(&self) -> u32 {
        self.n
    }

    #[span]
    fn by_mut(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    #[span]
    fn by_value(self) -> u32 {
        self.n
    }

    #[span]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.get_mut().n
    }

    #[span]
    async fn async_by_mut(&mut self) -> u32 {
        self.n += 10;
        self.n
    }

    #[span]
    fn returns_ref(&self) -> &u32 {
        &self.n
    }
}

pub trait Named {
    fn name(&self) -> String;
    #[span]
    fn default_method(&self) -> usize {
        self.name().len()
    }
}

impl Named for Counter {
    #[span(name = "Counter::name")]
    fn name(&self) -> String {
        format!("counter{}", self.n)
    }
}

#[span]
fn generic<'a, T, const N: usize>(items: &'a [&'a T; N]) -> Vec<String>
where
    T: Display + ?Sized + 'a,
{
    items.iter().map(|t| t.to_string()).collect()
}

#[span(attrs(shown = %shown))]
fn impl_trait_arg(shown: impl Display, mut iter: impl Iterator<Item = u8>) -> Option<u8> {
    let _ = shown;
    iter.next()
}

#[span]
fn destructured((a, b): (u8, u8), Counter { n }: Counter, [x, y]: [u8; 2]) -> u32 {
    u32::from(a + b + x + y) + n
}

#[span]
fn returns_impl_trait(n: u8) -> impl Iterator<Item = u8> {
    0..n
}

#[span]
async fn async_fn(s: &str) -> usize {
    s.len()
}

#[span]
async fn async_unit() {}

#[span]
async fn async_impl_trait(n: u8) -> impl Display {
    n
}

// The shape under test is the manual form; clippy suggests `async fn` for it in
// edition 2021 only (tests-2021 compiles this file too).
#[span]
#[allow(clippy::manual_async_fn)]
fn impl_future(n: u8) -> impl Future<Output = u8> {
    async move { n * 2 }
}

#[span]
fn boxed_future<'a>(s: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
    Box::pin(async move { s.len() })
}

#[span]
extern "C" fn extern_c(x: u32) -> u32 {
    x * 3
}

#[span]
fn never_returns_normally(fail: bool) -> Result<u8, String> {
    if fail {
        return Err("early".into());
    }
    Ok(1)
}

macro_rules! define {
    ($name:ident, $arg:ident) => {
        #[span(attrs($arg))]
        fn $name($arg: u32) -> u32 {
            $arg + 1
        }
    };
}
define!(from_macro_rules, value);

#[span]
fn with_inner_attribute() -> u8 {
    #![allow(clippy::let_and_return)]
    let x = 1;
    x
}

// Async shapes: each becomes a plain `fn` returning a future that must capture
// exactly what the `async fn` did, in edition 2021 (tests-2021) as in 2024.
pub trait Store {
    fn get(&self, key: &str) -> impl Future<Output = usize>;
    #[allow(async_fn_in_trait)]
    async fn put(&mut self, key: &str, value: u32) -> u32;
}

impl Store for Counter {
    #[span(attrs(key))]
    async fn get(&self, key: &str) -> usize {
        key.len() + self.n as usize
    }

    #[span(attrs(key, value))]
    async fn put(&mut self, key: &str, value: u32) -> u32 {
        self.n += value + key.len() as u32;
        self.n
    }
}

impl Counter {
    #[span]
    async fn async_by_value(self) -> u32 {
        self.n
    }

    #[span]
    async fn async_pinned(self: Pin<&mut Self>, by: u32) -> u32 {
        let this = self.get_mut();
        this.n += by;
        this.n
    }
}

#[span(attrs(a, b))]
async fn async_two_borrows(a: &str, b: &[u8], mut c: u32) -> usize {
    c += 1;
    a.len() + b.len() + c as usize
}

#[span]
async fn async_generic<T, U>(items: &[T], extra: U) -> String
where
    T: Display,
    U: Into<String> + Send,
{
    let mut out: String = items.iter().map(ToString::to_string).collect();
    out.push_str(&extra.into());
    out
}

#[span(attrs(shown = %shown))]
async fn async_impl_trait_arg(shown: impl Display, iter: impl Iterator<Item = u8>) -> u32 {
    iter.map(u32::from).sum::<u32>() + shown.to_string().len() as u32
}

#[span]
async fn async_destructured((a, b): (u8, u8), _: Counter, [x, _]: [u8; 2]) -> u32 {
    u32::from(a) + u32::from(b) + u32::from(x)
}

#[span(attrs(n))]
fn async_recursive(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if n == 0 {
            0
        } else {
            n + async_recursive_fn(n - 1).await
        }
    })
}

#[span(attrs(n))]
async fn async_recursive_fn(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        n + Box::pin(async_recursive_fn(n - 1)).await + async_recursive(0).await
    }
}

/// The future of an annotated `async fn` is `Send` when its body's is.
fn assert_send<F: Future + Send>(future: F) -> F {
    future
}

#[test]
fn async_shapes_capture_what_an_async_fn_captures() {
    let ((), spans) = capture(|| {
        let mut c = Counter { n: 1 };
        let key = String::from("k");
        assert_eq!(block_on(assert_send(c.get(&key))), 2);
        assert_eq!(block_on(c.put(&key, 2)), 4);
        assert_eq!(block_on(Pin::new(&mut c).async_pinned(1)), 5);
        assert_eq!(block_on(assert_send(c.async_by_value())), 5);
        let (a, b) = (String::from("ab"), vec![1u8, 2, 3]);
        assert_eq!(block_on(assert_send(async_two_borrows(&a, &b, 0))), 6);
        assert_eq!(block_on(async_generic(&[1, 2], "x")), "12x");
        assert_eq!(
            block_on(async_impl_trait_arg("four", [1u8, 2].into_iter())),
            7
        );
        assert_eq!(
            block_on(async_destructured((1, 2), Counter::default(), [3, 4])),
            6
        );
        assert_eq!(block_on(assert_send(async_recursive_fn(3))), 6);
    });
    for name in [
        "get",
        "put",
        "async_pinned",
        "async_by_value",
        "async_two_borrows",
        "async_generic",
        "async_impl_trait_arg",
        "async_destructured",
    ] {
        assert_eq!(spans.all_named(name).count(), 1, "{name}\n{}", spans.tree());
    }
    assert_eq!(spans.all_named("async_recursive_fn").count(), 4);
    let get = spans.named("get");
    assert!(get.attributes.iter().any(|kv| kv.key.as_str() == "key"));
    let shown = spans.named("async_impl_trait_arg");
    assert!(shown.attributes.iter().any(|kv| kv.key.as_str() == "shown"));
    // Each recursion level is the child of the one above it.
    let levels: Vec<_> = spans.all_named("async_recursive_fn").collect();
    let roots = levels
        .iter()
        .filter(|s| {
            !levels
                .iter()
                .any(|p| p.span_context.span_id() == s.parent_span_id)
        })
        .count();
    assert_eq!(roots, 1, "{}", spans.tree());
}

#[test]
fn every_shape_makes_its_span() {
    let ((), spans) = capture(|| {
        let _ = free_function(1);
        let mut c = Counter::default();
        assert_eq!(c.by_ref(), 0);
        assert_eq!(c.by_mut(), 1);
        assert_eq!(*c.returns_ref(), 1);
        assert_eq!(std::pin::Pin::new(&mut c).pinned(), 1);
        assert_eq!(block_on(c.async_by_mut()), 11);
        assert_eq!(c.default_method(), "counter11".len());
        assert_eq!(Counter { n: 2 }.by_value(), 2);
        assert_eq!(generic(&[&1, &2]), ["1", "2"]);
        assert_eq!(impl_trait_arg("s", [4u8].into_iter()), Some(4));
        assert_eq!(destructured((1, 2), Counter { n: 3 }, [4, 5]), 15);
        assert_eq!(returns_impl_trait(3).count(), 3);
        assert_eq!(block_on(async_fn("abc")), 3);
        assert_eq!(block_on(async_impl_trait(5)).to_string(), "5");
        block_on(async_unit());
        assert_eq!(block_on(impl_future(4)), 8);
        assert_eq!(block_on(boxed_future("four")), 4);
        assert_eq!(extern_c(2), 6);
        assert!(never_returns_normally(true).is_err());
        assert_eq!(from_macro_rules(1), 2);
        assert_eq!(with_inner_attribute(), 1);
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    for expected in [
        "free_function",
        "by_ref",
        "by_mut",
        "returns_ref",
        "pinned",
        "async_by_mut",
        "default_method",
        "Counter::name",
        "by_value",
        "generic",
        "impl_trait_arg",
        "destructured",
        "returns_impl_trait",
        "async_fn",
        "async_impl_trait",
        "async_unit",
        "impl_future",
        "boxed_future",
        "extern_c",
        "never_returns_normally",
        "from_macro_rules",
        "with_inner_attribute",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(
        spans.named("never_returns_normally").status,
        spanwright::opentelemetry::trace::Status::error("early")
    );
    let from_macro = spans.named("from_macro_rules");
    assert!(
        from_macro
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "value")
    );
    // The Named::name call happens inside default_method.
    assert_eq!(
        spans.named("Counter::name").parent_span_id,
        spans.named("default_method").span_context.span_id()
    );
}
