//! With the `off` feature the macros emit the function unchanged: no span even
//! inside a capture, parameter annotations removed.

use spanwright::testing::capture;

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
    assert!(
        spans.is_empty() && more.is_empty(),
        "no spans with the `off` feature"
    );
}
