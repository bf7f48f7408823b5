#!/usr/bin/env bash
# Instructions per call under callgrind (deterministic, unlike wall time), taken as
# (Ir at 2N calls - Ir at N calls) / N, which cancels start-up. Counted inside the
# measured loop of the calling thread (--toggle-collect), except the all-threads
# figures, which count the whole process (the batch thread exporting included).
#
# - the disabled path of #[span] against the plain function, for each sync shape;
# - async, two harnesses: a future that suspends once, polled to completion by an
#   inlined executor; and a future that completes in one poll, pinned in place and
#   polled once through `Pin<&mut dyn Future>` (its own poll function runs), with
#   #[tracing::instrument] (no subscriber) beside it; and the futures' sizes;
# - the compile-time off switch (`--features off`) against the plain function;
# - the enabled path: sampled spans against the tuned and the leanest hand-written
#   SDK code, with a batch queue large enough that no span is dropped while counting.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }

count() { # binary case calls [all] -> Ir
  local toggle=(--toggle-collect='instructions::measured*')
  [ "${4:-}" = all ] && toggle=()
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "${toggle[@]}" "$1" "$2" "$3" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() { # binary case [calls] [all]
  local n=${3:-$N} one two
  one=$(count "$1" "$2" "$n" "${4:-}")
  two=$(count "$1" "$2" $((2 * n)) "${4:-}")
  python3 -c "print(f'{($two - $one) / $n:.0f}')"
}
over() { python3 -c "print(f'{$2 - $1:+.0f}')"; }

cargo build -q --release -p spanwright-benches --bin instructions
cp target/release/instructions target/instructions-on
cargo build -q --release -p spanwright-benches --bin instructions --features off
cp target/release/instructions target/instructions-off
on=target/instructions-on

printf '### Disabled at run time, sync, by shape\n\n| shape | plain | #[span] | over plain |\n| --- | ---: | ---: | ---: |\n'
for shape in "two attributes (usize return):plain:span" "unit return:plain_unit:span_unit" \
  "Result return:plain_result:span_result" "&self method:plain_method:span_method" \
  "name template:plain_named:span_named"; do
  IFS=: read -r label p s <<<"$shape"
  a=$(per_call $on "$p"); b=$(per_call $on "$s")
  printf '| %s | %s | %s | %s |\n' "$label" "$a" "$b" "$(over "$a" "$b")"
done

printf '\n### Disabled at run time, async\n\n| harness | plain | #[span] | over plain | #[tracing::instrument] | over plain |\n| --- | ---: | ---: | ---: | ---: | ---: |\n'
a=$(per_call $on plain_async); b=$(per_call $on span_async)
printf '| suspends once, inlined executor | %s | %s | %s | | |\n' "$a" "$b" "$(over "$a" "$b")"
a=$(per_call $on plain_ready); b=$(per_call $on span_ready); c=$(per_call $on tracing_ready)
printf '| one poll through `Pin<&mut dyn Future>` | %s | %s | %s | %s | %s |\n' "$a" "$b" "$(over "$a" "$b")" "$c" "$(over "$a" "$c")"

printf '\n### Future sizes (bytes)\n\n| variant | bytes |\n| --- | ---: |\n'
$on sizes | while IFS=$'\t' read -r variant bytes; do printf '| %s | %s |\n' "$variant" "$bytes"; done

a=$(per_call target/instructions-off plain); b=$(per_call target/instructions-off span)
printf '\n### Compile-time off\n\n| plain | #[span] | over plain |\n| ---: | ---: | ---: |\n| %s | %s | %s |\n' "$a" "$b" "$(over "$a" "$b")"

# The enabled path; fewer calls, as each is slow under valgrind. The queue holds
# every span of the run, so none is dropped (a drop is cheaper than an export and
# would pull the ratios toward 1).
export OTEL_BSP_MAX_QUEUE_SIZE=65536
M=20000
printf '\n### Enabled, sampled (queue %s: nothing dropped)\n\n| case | calling thread | all threads |\n| --- | ---: | ---: |\n' "$OTEL_BSP_MAX_QUEUE_SIZE"
declare -A mine all
for c in span_sampled tuned lean; do
  mine[$c]=$(per_call $on $c $M); all[$c]=$(per_call $on $c $M all)
done
printf '| #[span] | %s | %s |\n| tuned SDK code (`Tuned::call`) | %s | %s |\n| leanest SDK code (`lean_call`) | %s | %s |\n' \
  "${mine[span_sampled]}" "${all[span_sampled]}" "${mine[tuned]}" "${all[tuned]}" "${mine[lean]}" "${all[lean]}"
ratio() { python3 -c "print(f'{$1 / $2:.3f}')"; }
printf '| ratio #[span] / tuned | %s | %s |\n| ratio #[span] / leanest | %s | %s |\n' \
  "$(ratio "${mine[span_sampled]}" "${mine[tuned]}")" "$(ratio "${all[span_sampled]}" "${all[tuned]}")" \
  "$(ratio "${mine[span_sampled]}" "${mine[lean]}")" "$(ratio "${all[span_sampled]}" "${all[lean]}")"
# The floor: the least any span costs that puts a handle to itself into the
# current OpenTelemetry context, and what keeping only its SpanContext there
# costs (benches/floor.rs); neither does a sampler, limits, outcome or metrics.
for c in floor floor_context_only; do mine[$c]=$(per_call $on $c $M); done
printf '\n**The floor** (calling thread; `benches/floor.rs`: ids, two wall-clock readings, both arguments in a small record, pushed onto a locked list at the end; no sampler, limits, outcome, panic or cancellation handling, metrics switch or source location)\n\n| case | instructions | #[span] over it |\n| --- | ---: | ---: |\n| a handle to the span in the context (`with_span`; `get_active_span` writes land in the record) | %s | %s |\n| only its `SpanContext` in the context (`with_remote_span_context`; no handle) | %s | %s |\n' \
  "${mine[floor]}" "$(over "${mine[floor]}" "${mine[span_sampled]}")" \
  "${mine[floor_context_only]}" "$(over "${mine[floor_context_only]}" "${mine[span_sampled]}")"
for c in span_dropped tuned_dropped span_held span_held_child span_filtered async_sampled tuned_async; do mine[$c]=$(per_call $on $c $M); done
printf '\n**Async, sampled** (suspends once, inlined executor; calling thread)\n\n| #[span] | tuned SDK code | ratio |\n| ---: | ---: | ---: |\n| %s | %s | %s |\n' \
  "${mine[async_sampled]}" "${mine[tuned_async]}" "$(ratio "${mine[async_sampled]}" "${mine[tuned_async]}")"
printf '\n**Dropped by the sampler** (`always_off`; calling thread)\n\n| #[span] | tuned SDK code | ratio |\n| ---: | ---: | ---: |\n| %s | %s | %s |\n' \
  "${mine[span_dropped]}" "${mine[tuned_dropped]}" "$(ratio "${mine[span_dropped]}" "${mine[tuned_dropped]}")"
printf '\n**Held by sampling that keeps errors** (`keep_errors(0.0)`; calling thread; discarded as their trace decides)\n\n| case | instructions | over sampled #[span] |\n| --- | ---: | ---: |\n| a held local root (every call a trace of its own) | %s | %s |\n| a held child (every call under one open root) | %s | %s |\n' \
  "${mine[span_held]}" "$(ratio "${mine[span_held]}" "${mine[span_sampled]}")" \
  "${mine[span_held_child]}" "$(ratio "${mine[span_held_child]}" "${mine[span_sampled]}")"
printf '\n**Turned off by the application** (installed, the crate turned off: `SPANWRIGHT_SPANS=spanwright_benches=off`; `tracing` under a subscriber with a `Targets` filter `spanwright_benches=off`; calling thread)\n\n| turned off #[span] | disabled #[span] (nothing installed) | plain | turned off #[tracing::instrument] | #[tracing::instrument], no subscriber |\n| ---: | ---: | ---: | ---: | ---: |\n| %s | %s | %s | %s | %s |\n' \
  "${mine[span_filtered]}" "$(per_call $on span $M)" "$(per_call $on plain $M)" "$(per_call $on tracing_filtered $M)" "$(per_call $on tracing_sync $M)"

# Metrics: a `#[span(metrics)]` call (its `function.calls` and
# `function.calls.duration` recorded, into a meter exported to the console once
# at the end) against the same call without `metrics`, sampled and dropped by the
# sampler; beside it, the SDK's own counter and histogram with the same
# attributes and boundaries around the plain function.
for c in metrics_sampled metrics_dropped sdk_metrics; do mine[$c]=$(per_call $on $c $M); done
plain=$(per_call $on plain $M)
printf '\n**Metrics** (calling thread)\n\n| case | instructions | the metrics alone |\n| --- | ---: | ---: |\n'
printf '| #[span(metrics)], sampled | %s | %s over #[span] |\n' "${mine[metrics_sampled]}" "$(over "${mine[span_sampled]}" "${mine[metrics_sampled]}")"
printf '| #[span(metrics)], dropped by the sampler | %s | %s over #[span] |\n' "${mine[metrics_dropped]}" "$(over "${mine[span_dropped]}" "${mine[metrics_dropped]}")"
printf '| SDK counter + histogram around the plain function | %s | %s over plain |\n' "${mine[sdk_metrics]}" "$(over "$plain" "${mine[sdk_metrics]}")"
