//! A week-long service behind a collector that accepts connections and never
//! answers: flushed jobs start no thread each (at most the installation's two
//! helpers, and the process's diagnostics writer), every flush ends at its
//! timeout, and shutdown gets through. Its own
//! binary: it counts the process's threads.

use spanwright::{OtlpProtocol, Telemetry};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Accepts every connection and keeps it open, never answering (one thread,
/// started before the counting begins).
fn hung_collector() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            open.push(stream);
        }
    });
    port
}

#[spanwright::traced_job(flush)]
fn sync_job(i: u32) -> u32 {
    i
}

#[spanwright::traced_job(flush)]
async fn async_job(i: u32) -> u32 {
    i
}

#[test]
fn flushed_jobs_against_a_hung_collector_start_no_thread_each() {
    // Each export gives up after 500 ms (the default 10 s would only make the
    // test slower). SAFETY: the only test of this binary; no other thread yet.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "500") };
    let port = hung_collector();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let before_install = threads();
    let telemetry = Telemetry::builder()
        .otlp(OtlpProtocol::Grpc, format!("http://127.0.0.1:{port}"))
        .flush_timeout(Duration::from_millis(20))
        .shutdown_timeout(Duration::from_secs(1))
        .install()
        .unwrap();
    let installed = threads();

    let started = Instant::now();
    // On a thread of its own, so that a flush that never ends fails the test
    // (by the timeout below) instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    let jobs = std::thread::spawn(move || {
        for i in 0..100 {
            assert_eq!(sync_job(i), i);
        }
        let results = runtime.block_on(async {
            let jobs: Vec<_> = (0..100).map(|i| tokio::spawn(async_job(i))).collect();
            let mut results = Vec::new();
            for job in jobs {
                results.push(job.await.unwrap());
            }
            results
        });
        let _ = done.send((results.len(), runtime));
    });
    // Kept: its worker threads are part of every count below.
    let (count, _runtime) = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("200 flushed jobs did not finish in 60 s: a flush is not bounded");
    assert_eq!(count, 100);
    jobs.join().unwrap();
    let took = started.elapsed();
    let after_jobs = threads();
    println!(
        "threads: {before_install} before install, {installed} installed, {after_jobs} after 200 flushed jobs ({took:?})"
    );
    // At most the installation's two flush helpers and the process's one
    // diagnostics writer (the failed exports are reported): none per job.
    assert!(
        after_jobs <= installed + 3,
        "{after_jobs} threads after 200 flushed jobs, {installed} before: {:?}",
        thread_names()
    );
    // Each sync job waits at most its 20 ms; the async ones wait side by side.
    assert!(took < Duration::from_secs(15), "flushes bounded: {took:?}");

    let stopping = Instant::now();
    drop(telemetry);
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "shutdown bounded: {:?}",
        stopping.elapsed()
    );
    // Every thread of the installation ends (the flusher once the SDK gives up
    // on the flush it is waiting for).
    let deadline = Instant::now() + Duration::from_secs(15);
    // The diagnostics writer lives on with the process (one thread, idle).
    let before_install = before_install + 1;
    while threads() > before_install && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        threads() <= before_install,
        "{} threads after shutdown, {before_install} before install: {:?}",
        threads(),
        thread_names()
    );
}
