//! Nothing of its own: this crate compiles `tests/shapes.rs` and
//! `tests/instrument_shapes.rs` with edition 2021, where temporaries, `impl Trait`
//! captures and tail expressions follow the older rules.
