#[tokio::main(flavor = "current_thread")]
#[spanwright::traced_job(init)]
async fn main() {
    assert!(spanwright::current().trace_id().is_some() || !spanwright::enabled());
}
