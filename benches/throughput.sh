#!/usr/bin/env bash
# Spans offered vs spans received by a live local Rotel, over OTLP/HTTP
# (protobuf, spanwright's default) and OTLP/gRPC (PROTOCOLS picks), at fixed
# rates for SECONDS (default 3) and at full speed, with spanwright's defaults,
# with the plain SDK's defaults, and with the SDK given spanwright's queue and
# batch size, in the same run; every sender records the same attributes (the
# receiver's work per span is the same). MODES picks senders. A fresh Rotel per case counts
# what arrived from its log ("Received traces ... spans=N"). Needs Rotel
# (pip install --pre rotel==0.0.1a15, as scripts/test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_CASE=${SECONDS_PER_CASE:-3}
RATES=${RATES:-"10000 50000 100000 max"}
agent=$(python3 -c "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))")
cargo build -q --release -p spanwright-benches --bin throughput
bin=target/release/throughput
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

printf '| protocol | sender | offered rate | offered | received | lost | lost reported |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: |\n'
for protocol in ${PROTOCOLS:-http/protobuf grpc}; do
for rate in $RATES; do
  for mode in ${MODES:-spanwright sdk sdk-matched}; do
    grpc=$(free_port); http=$(free_port); log=$(mktemp)
    "$agent" start --otlp-grpc-endpoint "127.0.0.1:$grpc" --otlp-http-endpoint "127.0.0.1:$http" \
      --exporter blackhole --debug-log traces >"$log" 2>&1 &
    rotel=$!
    port=$([ "$protocol" = grpc ] && echo "$grpc" || echo "$http")
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    out=$("$bin" "$mode" "$rate" "$SECONDS_PER_CASE" "http://127.0.0.1:$port" "$protocol" 2>/dev/null)
    # Rotel logs each batch as it arrives; give the last one a moment.
    sleep 1
    kill "$rotel"; wait "$rotel" 2>/dev/null || true
    received=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*Received traces.* spans=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
    rm -f "$log"
    offered=$(sed -n 's/.*offered=\([0-9]*\).*/\1/p' <<<"$out")
    reported=$(sed -n 's/.*reported=\([0-9]*\).*/\1/p' <<<"$out")
    lost=$((offered - received))
    label=$([ "$rate" = max ] && echo "full speed (2 threads)" || echo "$rate/s")
    sender=$([ "$mode" = sdk-matched ] && echo "sdk, spanwright's queue and batch" || echo "$mode defaults")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$protocol" "$sender" "$label" "$offered" "$received" "$lost" "$reported"
  done
done
done
