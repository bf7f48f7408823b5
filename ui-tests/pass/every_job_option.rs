#![forbid(unsafe_code)]
#![deny(warnings)]

use std::collections::HashMap;

struct Message {
    id: String,
    deliveries: u32,
    headers: HashMap<String, String>,
}

#[spanwright::traced_job(
    name = "worker.{queue}",
    id = &message.id,
    attempt = message.deliveries,
    parent = &message.headers,
    attrs(messaging.system = "redis", messaging.destination.name = queue),
    flush,
    status_ok,
)]
async fn handle(queue: &str, message: &Message) -> Result<(), std::io::Error> {
    Ok(())
}

#[spanwright::traced_job(link = &message.headers, kind = consumer, root)]
fn handle_batch(message: &Message) {}

fn main() {
    let message = Message { id: "m-1".into(), deliveries: 1, headers: HashMap::new() };
    let ((), spans) = spanwright::testing::capture(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(handle("jobs", &message)).unwrap();
        handle_batch(&message);
    });
    assert_eq!(spans.named("worker.jobs").name, "worker.jobs");
}
