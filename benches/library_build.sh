#!/usr/bin/env bash
# What a library pays to annotate its functions: a clean debug build of a small
# library crate with one annotated function, against `tracing` (its
# `#[instrument]`), spanwright with `default-features = false` (what the crate
# docs tell library authors to write), and spanwright with its defaults. Each
# in a fresh target directory, offline from the workspace's lock file; crates
# counted with `cargo tree`. Medians of RUNS (default 3) builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for v in tracing spanwright-lean spanwright-default; do
  d=$work/$v; mkdir -p $d/src
  case $v in
    tracing) dep='tracing = "0.1.41"'; attr='#[tracing::instrument(skip_all, fields(key = key))]' ;;
    spanwright-lean) dep='spanwright = { path = "'$root'/runtime", default-features = false }'; attr='#[spanwright::span(attrs(key))]' ;;
    spanwright-default) dep='spanwright = { path = "'$root'/runtime" }'; attr='#[spanwright::span(attrs(key))]' ;;
  esac
  cat > $d/Cargo.toml <<TOML
[package]
name = "storage-lib"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
$dep
TOML
  cat > $d/src/lib.rs <<RS
//! A storage client's library crate.

/// Fetches an object.
$attr
pub fn fetch(key: &str) -> usize {
    key.len()
}
RS
  cp $root/Cargo.lock $d/Cargo.lock
  times=()
  for _ in $(seq $RUNS); do
    rm -rf $d/target
    start=$(date +%s.%N)
    (cd $d && cargo build --offline -q 2>&1 | tail -3)
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  crates=$(cd $d && cargo tree --offline -e normal --prefix none 2>/dev/null | sed 's/ (\*)$//' | sort -u | wc -l)
  printf '| %s | %s | %.1f s |\n' "$v" "$crates" "$median"
done
