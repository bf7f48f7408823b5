#!/usr/bin/env bash
# Clean release builds of the pipeline example against spanwright with its
# default features and with only the `sdk` feature (console and none exporters),
# each in a fresh target dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
for v in default sdk; do
  d=$work/$v; mkdir -p $d/src
  features=$([ $v = default ] && echo 'path = "'$root'/runtime"' || echo 'path = "'$root'/runtime", default-features = false, features = ["sdk"]')
  cat > $d/Cargo.toml <<TOML
[package]
name = "pipeline-$v"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
spanwright = { $features }
tokio = { version = "1.47", features = ["rt", "rt-multi-thread", "macros", "time", "sync"] }

[[bin]]
name = "pipeline"
path = "src/main.rs"
TOML
  cp $root/examples/lib.rs $d/src/shared.rs
  sed 's/spanwright_examples::/crate::shared::/g' $root/examples/pipeline.rs > $d/src/main.rs
  printf '\nmod shared;\n' >> $d/src/main.rs
  cp $root/Cargo.lock $d/Cargo.lock
  rm -rf $d/target
  start=$(date +%s.%N)
  (cd $d && cargo build --release -q 2>&1 | tail -3)
  end=$(date +%s.%N)
  size=$(stat -c %s $d/target/release/pipeline)
  cp $d/target/release/pipeline $work/pipeline-$v
  strip $work/pipeline-$v
  stripped=$(stat -c %s $work/pipeline-$v)
  crates=$(cd $d && cargo tree -e normal --prefix none 2>/dev/null | sort -u | wc -l)
  printf '%s: clean release build %.0f s, binary %s bytes (%s stripped), %s crates\n' $v $(echo "$end - $start" | bc) $size $stripped $crates
done
