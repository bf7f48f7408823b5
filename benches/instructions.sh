#!/usr/bin/env bash
# Instructions per call under callgrind (deterministic, unlike wall time), counted
# only inside the measured loop of the calling thread, and taken as
# (Ir at 2N calls - Ir at N calls) / N, which cancels the loop's set-up. Compares the
# disabled path of #[span] with the plain function, sync and async, and the
# compile-time off switch (`--features off`) with the plain function.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }

count() { # binary case calls -> Ir
  valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='instructions::measured*' \
    "$1" "$2" "$3" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() { # binary case [calls]
  local n=${3:-$N} one two
  one=$(count "$1" "$2" "$n")
  two=$(count "$1" "$2" $((2 * n)))
  python3 -c "print(f'{($two - $one) / $n:.2f}')"
}

cargo build -q --release -p spanwright-benches --bin instructions
cp target/release/instructions target/instructions-on
cargo build -q --release -p spanwright-benches --bin instructions --features off
cp target/release/instructions target/instructions-off

plain=$(per_call target/instructions-on plain)
span=$(per_call target/instructions-on span)
plain_async=$(per_call target/instructions-on plain_async)
span_async=$(per_call target/instructions-on span_async)
off_plain=$(per_call target/instructions-off plain)
off_span=$(per_call target/instructions-off span)

printf '| case | Ir per call | over plain |\n| --- | ---: | ---: |\n'
printf '| plain function | %s | |\n' "$plain"
printf '| #[span], disabled at run time | %s | %+.2f |\n' "$span" "$(python3 -c "print($span - $plain)")"
printf '| plain async fn (polled to completion) | %s | |\n' "$plain_async"
printf '| #[span] async, disabled at run time | %s | %+.2f |\n' "$span_async" "$(python3 -c "print($span_async - $plain_async)")"
printf '| plain function (off build) | %s | |\n' "$off_plain"
printf '| #[span], compile-time off | %s | %+.2f |\n' "$off_span" "$(python3 -c "print($off_span - $off_plain)")"

# The enabled path, calling thread only (the batch worker is not counted), against
# the fastest hand-written SDK code; fewer calls, as each is slow under valgrind.
sampled=$(per_call target/instructions-on span_sampled 20000)
tuned=$(per_call target/instructions-on tuned 20000)
printf '| #[span], sampled (calling thread) | %s | |\n' "$sampled"
printf '| tuned hand-written SDK code (calling thread) | %s | |\n' "$tuned"
printf '| ratio #[span] / tuned | %s | |\n' "$(python3 -c "print(f'{$sampled / $tuned:.3f}')")"
