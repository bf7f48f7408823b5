#![forbid(unsafe_code)]
#![deny(warnings)]

use spanwright::testing::{capture, SpanDataExt};
use std::collections::HashMap;

#[derive(Debug)]
struct Shape(u8);

#[spanwright::span(
    name = "render.{kind}",
    kind = server,
    attrs(kind, size = size * 2, "quoted.key" = true, shown = %kind, dbg = ?shape, ?shape),
    ret,
    status_ok,
    metrics,
    parent = carrier,
    links(carrier, carrier),
    allow_sensitive,
)]
fn render(kind: &str, size: u32, shape: &Shape, carrier: &HashMap<String, String>, #[attr("auth.token")] token: &str) -> Result<u32, String> {
    let _ = (shape, token);
    Ok(size)
}

fn main() {
    let carrier = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    )]);
    let (value, spans) = capture(|| render("png", 2, &Shape(1), &carrier, "t0k"));
    assert_eq!(value, Ok(2));
    let span = spans.named("render.png");
    assert!(span.attr("auth.token").is_some());
    assert_eq!(span.links.links.len(), 2);
}
