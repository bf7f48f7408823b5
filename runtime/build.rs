//! Nothing to build: the script exists because the package declares Cargo's
//! `links = "spanwright"`, which keeps two incompatible spanwright runtimes out of
//! one build (see Cargo.toml).

fn main() {
    // Run once, not again whenever a file of the package changes.
    println!("cargo::rerun-if-changed=build.rs");
}
