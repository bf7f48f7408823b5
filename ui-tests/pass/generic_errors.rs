#![deny(warnings)]

use spanwright::opentelemetry::trace::Status;

struct Opaque;

#[spanwright::span]
fn generic<T, E>(value: Result<T, E>) -> Result<T, E> {
    value
}

#[spanwright::span(ret)]
fn boxed(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        Err("no".into())
    } else {
        Ok(1)
    }
}

fn main() {
    let (_, spans) = spanwright::testing::capture(|| {
        let _ = generic::<u8, Opaque>(Err(Opaque));
        let _ = boxed(true);
    });
    // An error type without Display or Debug is described by its type name.
    let Status::Error { description } = &spans.named("generic").status else { panic!("not an error") };
    assert!(description.ends_with("::Opaque"), "{description}");
    assert_eq!(spans.named("boxed").status, Status::error("no"));
}
