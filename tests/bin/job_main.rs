//! A batch job's `main` under `#[traced_job(init)]`, run as a subprocess by
//! `tests/job_main.rs`. `JOB_FAIL=1` makes it return an error.

#[spanwright::span(name = "batch.step", kind = client, attrs(rows))]
fn step(rows: u32) -> u32 {
    rows * 2
}

#[spanwright::traced_job(init, attrs(run.mode = "batch"))]
fn main() -> Result<(), String> {
    let doubled = step(21);
    println!("job ran: {doubled}");
    if std::env::var_os("JOB_FAIL").is_some() {
        return Err("input bucket is empty".into());
    }
    Ok(())
}
