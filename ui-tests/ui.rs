//! The UI suite: each `fail/*.rs` must fail to compile with exactly its
//! `.stderr`; each `pass/*.rs` must compile and run.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("fail/*.rs");
    cases.pass("pass/*.rs");
}
