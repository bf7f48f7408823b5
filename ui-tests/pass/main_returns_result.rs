#[spanwright::traced_job(init, attrs(run.mode = "batch"))]
fn main() -> Result<(), std::io::Error> {
    Ok(())
}
