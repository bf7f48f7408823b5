//! Runs one case `n` times, for `instructions.sh` to count instructions under
//! callgrind: `instructions <case> <n>`.

use spanwright::opentelemetry_sdk::trace::Sampler;
use spanwright_benches::{
    Discard, Tuned, block_on, plain, plain_async, provider, spanwright_async, spanwright_span,
};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("case");
    let n: u64 = args.next().expect("n").parse().expect("a number");
    // The enabled cases: spanwright's telemetry, or a hand-tuned SDK tracer, both
    // with a batch processor and an exporter that discards.
    let telemetry = (case == "span_sampled").then(|| {
        spanwright::Telemetry::builder()
            .exporter(Discard)
            .sampler(Sampler::AlwaysOn)
            .install()
            .unwrap()
    });
    let sdk = provider(Sampler::AlwaysOn);
    let tuned = Tuned::new(&sdk);
    black_box(measured(&case, n, &tuned));
    drop(telemetry);
}

/// The measured loop: `instructions.sh` counts only what runs inside it
/// (`--toggle-collect`), so start-up and other threads stay out of the figures.
#[inline(never)]
fn measured(case: &str, n: u64, tuned: &Tuned) -> usize {
    let mut sum = 0usize;
    match case {
        "plain" => (0..n).for_each(|i| sum += plain(black_box(i), black_box("resize"))),
        "span" => (0..n).for_each(|i| sum += spanwright_span(black_box(i), black_box("resize"))),
        "plain_async" => {
            (0..n).for_each(|i| sum += block_on(plain_async(black_box(i), black_box("resize"))))
        }
        "span_async" => (0..n)
            .for_each(|i| sum += block_on(spanwright_async(black_box(i), black_box("resize")))),
        "span_sampled" => {
            (0..n).for_each(|i| sum += spanwright_span(black_box(i), black_box("resize")))
        }
        "tuned" => (0..n).for_each(|i| sum += tuned.call(black_box(i), black_box("resize"))),
        other => panic!("unknown case {other}"),
    }
    sum
}
