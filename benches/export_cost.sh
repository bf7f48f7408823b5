#!/usr/bin/env bash
# Instructions per span for the whole process (calling thread, batch thread,
# encoding and sending) with real OTLP export to a live local Rotel, under
# callgrind: (Ir at 2N spans - Ir at N spans) / N, which cancels start-up and
# shutdown. spanwright against the SDK with opentelemetry-otlp, both with the
# same queue (large enough that nothing is dropped) and batch size, the same
# attributes on every span, over OTLP/HTTP (protobuf) and OTLP/gRPC. Each run
# checks that Rotel received every span offered. The receiver's process is not
# counted. Needs valgrind and Rotel (pip install --pre rotel==0.0.1a15).
# PROTOCOLS="grpc" and MODES="spanwright" measure one row of the table.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
agent=$(python3 -c "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))")
cargo build -q --release -p spanwright-benches --bin throughput
bin=target/release/throughput
export OTEL_BSP_MAX_QUEUE_SIZE=$((4 * N))
# The export timeout both sides get (the SDK's is set in throughput.rs): long,
# as everything runs some fifty times slower under callgrind.
export OTEL_EXPORTER_OTLP_TIMEOUT=300000
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

count() { # mode protocol spans -> Ir (and checks that every span arrived)
  local grpc http log out received base
  grpc=$(free_port); http=$(free_port); log=$(mktemp)
  "$agent" start --otlp-grpc-endpoint "127.0.0.1:$grpc" --otlp-http-endpoint "127.0.0.1:$http" \
    --exporter blackhole --debug-log traces >"$log" 2>&1 &
  local rotel=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$grpc") 2>/dev/null && break
    sleep 0.1
  done
  base=$([ "$2" = grpc ] && echo "http://127.0.0.1:$grpc" || echo "http://127.0.0.1:$http")
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "count:$3" 0 "$base" "$2" 2>&1)
  for _ in $(seq 50); do
    received=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*Received traces.* spans=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
    [ "$received" -ge "$3" ] && break; sleep 0.1
  done
  kill "$rotel"; wait "$rotel" 2>/dev/null || true
  rm -f "$log"
  if [ "$received" -ne "$3" ]; then
    echo "$1 over $2: Rotel received $received of $3 spans" >&2; exit 1
  fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out"
}

printf '| sender | protocol | instructions per span, all threads |\n| --- | --- | ---: |\n'
for protocol in ${PROTOCOLS:-http/protobuf grpc}; do
  for mode in ${MODES:-spanwright sdk-matched}; do
    one=$(count "$mode" "$protocol" "$N"); two=$(count "$mode" "$protocol" $((2 * N)))
    label=$([ "$mode" = sdk-matched ] && echo "SDK + opentelemetry-otlp, same queue, batch and attributes" || echo "spanwright")
    printf '| %s | %s | %s |\n' "$label" "$protocol" "$(python3 -c "print(f'{($two - $one) / $N:,.0f}')")"
  done
done
