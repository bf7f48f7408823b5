//! A consumer loop whose span (the trace's local root) never ends before its
//! 300,000 children are exported to the console exporter; prints how much the
//! peak resident memory grew. Run by `tests/bounded_memory.rs` with stderr
//! (where the drawings go) discarded.

#[spanwright::traced_job(name = "consumer.loop")]
fn consumer_loop(children: u32) {
    for i in 0..children {
        child(i);
        if i % 1_000 == 999 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[spanwright::span(attrs(i))]
fn child(i: u32) {}

fn main() {
    // SAFETY: before any other thread starts.
    unsafe {
        std::env::set_var("OTEL_TRACES_EXPORTER", "console");
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "50");
    }
    let telemetry = spanwright::init().unwrap();
    let before = spanwright_tests::peak_rss_mib();
    // At a pace the console keeps up with, so that every span is held or drawn
    // (none dropped at a full queue, which would hold nothing).
    consumer_loop(300_000);
    let grown = spanwright_tests::peak_rss_mib() - before;
    let stats = telemetry.shutdown();
    println!(
        "RESULT {grown:.1} {} {}",
        stats.spans_ended, stats.spans_dropped
    );
}
