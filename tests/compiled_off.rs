//! With the `off` feature the macros emit the function unchanged: no span even
//! inside a capture, parameter annotations removed. Under `deny(warnings)`: a
//! parameter only the macro's arguments used raises no `unused_variables`.
#![deny(warnings)]

use spanwright::testing::capture;
use std::collections::HashMap;

/// `tenant`, `headers`, `link_to` and `kind` are used only by the macro's arguments.
#[spanwright::span(name = "job.{kind}", attrs(tenant), parent = headers, link = link_to)]
fn only_the_macro_uses_them(
    tenant: &str,
    headers: &HashMap<String, String>,
    link_to: &HashMap<String, String>,
    kind: &str,
) -> u8 {
    7
}

#[spanwright::span(name = "x.{a}", attrs(b), ret)]
fn sync_fn(a: u32, #[attr("c")] c: &str, b: u8) -> Result<u32, String> {
    Ok(a + u32::from(b) + c.len() as u32)
}

#[spanwright::traced_job(id = id, flush)]
async fn job(id: u64) -> u64 {
    id
}

#[test]
fn off_emits_the_plain_function() {
    let (value, spans) = capture(|| sync_fn(1, "xy", 2));
    assert_eq!(value, Ok(5));
    let (value, more) = capture(|| spanwright_tests::block_on(job(7)));
    assert_eq!(value, 7);
    let none = HashMap::new();
    assert_eq!(only_the_macro_uses_them("t", &none, &none, "k"), 7);
    assert!(
        spans.is_empty() && more.is_empty(),
        "no spans with the `off` feature"
    );
}
