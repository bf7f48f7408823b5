//! Two semver-incompatible spanwright runtimes in one build would be two
//! separate pipelines, only one of them installed: the library's spans would
//! vanish without a word. The runtime declares Cargo's `links = "spanwright"`,
//! so Cargo refuses such a graph and names spanwright. Checked by resolving a
//! scratch workspace in which a library uses this runtime and the application a
//! spanwright of another major version (a stand-in package with the same
//! `links` key); resolution only, nothing is built.

use std::path::{Path, PathBuf};
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn two_major_versions_of_the_runtime_do_not_resolve() {
    let runtime = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let runtime = runtime.canonicalize().unwrap();
    let scratch =
        std::env::temp_dir().join(format!("spanwright-two-runtimes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    write(
        &scratch.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"app\", \"lib\", \"spanwright2\"]\n",
    );
    write(
        &scratch.join("lib/Cargo.toml"),
        &format!(
            "[package]\nname = \"lib\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nspanwright = {{ path = {:?}, default-features = false }}\n",
            runtime.display().to_string()
        ),
    );
    write(&scratch.join("lib/src/lib.rs"), "");
    // The next major version of the runtime, as far as Cargo's resolver sees it.
    write(
        &scratch.join("spanwright2/Cargo.toml"),
        "[package]\nname = \"spanwright\"\nversion = \"1.0.0\"\nedition = \"2024\"\nlinks = \"spanwright\"\nbuild = \"build.rs\"\n",
    );
    write(&scratch.join("spanwright2/build.rs"), "fn main() {}\n");
    write(&scratch.join("spanwright2/src/lib.rs"), "");
    write(
        &scratch.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nlib = { path = \"../lib\" }\nspanwright = { path = \"../spanwright2\" }\n",
    );
    write(&scratch.join("app/src/main.rs"), "fn main() {}\n");
    // The cargo running the tests (it sets CARGO), else the one on the PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(&scratch)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the graph resolved: {stderr}");
    assert!(
        stderr.contains("links to the native library `spanwright`"),
        "{stderr}"
    );
}
