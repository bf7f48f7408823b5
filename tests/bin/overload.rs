//! Offers `SPANS` spans from `THREADS` threads as fast as they can be made, to the
//! exporter the `OTEL_*` environment configures, then shuts down and prints the
//! final export statistics. Run as a subprocess by `tests/export_stats.rs`.

#[spanwright::span(attrs(n))]
fn unit_of_work(n: u64) -> u64 {
    n + 1
}

fn number(variable: &str, default: u64) -> u64 {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let spans = number("SPANS", 10_000);
    let threads = number("THREADS", 2);
    let telemetry = match spanwright::init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("telemetry not started: {error}");
            std::process::exit(1);
        }
    };
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let share = spans / threads + u64::from(t < spans % threads);
                (0..share).map(unit_of_work).sum::<u64>()
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let stats = telemetry.shutdown();
    println!(
        "stats offered={spans} ended={} exported={} dropped={} failures={} queue_full={} lost_in_failures={}",
        stats.spans_ended,
        stats.spans_exported,
        stats.spans_dropped,
        stats.export_failures,
        stats.spans_dropped_queue_full,
        stats.spans_lost_in_failed_exports
    );
}
