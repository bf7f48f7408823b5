#!/usr/bin/env python3
"""Prints the last `cargo bench -p spanwright-benches` run as Markdown tables:
median time per call, and its ratio to the plain function of the same group.
Reads what criterion saved under target/criterion/."""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
groups = {}
for meta in root.glob("*/*/new/benchmark.json"):
    info = json.loads(meta.read_text())
    estimates = json.loads((meta.parent / "estimates.json").read_text())
    groups.setdefault(info["group_id"], {})[info["function_id"]] = estimates["median"]["point_estimate"]

if not groups:
    sys.exit("no results: run `cargo bench -p spanwright-benches` first")

for group in ("sync", "async", "nested depth 5"):
    cases = groups.get(group)
    if not cases:
        continue
    plain = cases.get("plain")
    print(f"\n**{group}** (median of 30 samples)\n")
    print("| case | ns/call | × plain |")
    print("| --- | ---: | ---: |")
    for name, ns in sorted(cases.items(), key=lambda kv: kv[1]):
        ratio = f"{ns / plain:.2f}" if plain else ""
        print(f"| {name} | {ns:,.1f} | {ratio} |")

def ratio(group, a, b):
    cases = groups.get(group, {})
    if a in cases and b in cases:
        return cases[a] / cases[b]
    return None

print("\n**Targets** (ratios from this run)\n")
checks = [
    ("sync: span sampled / OTel tuned (≤ 1.0)", ratio("sync", "span sampled", "OTel tuned")),
    ("sync: tracing + tracing-opentelemetry / span sampled (≥ 2.0)", ratio("sync", "tracing + tracing-opentelemetry", "span sampled")),
    ("sync: span dropped / OTel tuned dropped (≤ 1.1)", ratio("sync", "span dropped by sampler", "OTel tuned, dropped by sampler")),
    ("async: span sampled / OTel tuned (≤ 1.0)", ratio("async", "span sampled", "OTel tuned")),
    ("async: tracing + tracing-opentelemetry / span sampled (≥ 2.0)", ratio("async", "tracing + tracing-opentelemetry", "span sampled")),
    ("nested: tracing + tracing-opentelemetry / span sampled (≥ 2.0)", ratio("nested depth 5", "tracing + tracing-opentelemetry", "span sampled")),
    ("sync: tracing + tracing-opentelemetry, production config / span sampled (≥ 2.0)", ratio("sync", "tracing + tracing-opentelemetry, production config", "span sampled")),
    ("async: tracing + tracing-opentelemetry, production config / span sampled (≥ 2.0)", ratio("async", "tracing + tracing-opentelemetry, production config", "span sampled")),
    ("nested: tracing + tracing-opentelemetry, production config / span sampled (≥ 2.0)", ratio("nested depth 5", "tracing + tracing-opentelemetry, production config", "span sampled")),
]
for label, value in checks:
    print(f"- {label}: {value:.2f}" if value is not None else f"- {label}: not measured")
sync = groups.get("sync", {})
if "span disabled" in sync and "plain" in sync:
    print(f"- sync: span disabled − plain (≤ 1 ns): {sync['span disabled'] - sync['plain']:+.2f} ns")
asy = groups.get("async", {})
if "span disabled" in asy and "plain" in asy:
    print(f"- async: span disabled − plain (≤ 1 ns): {asy['span disabled'] - asy['plain']:+.2f} ns")
