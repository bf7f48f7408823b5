//! The main example: an API publishes jobs onto an in-process queue, with the
//! trace context injected into each message's attributes; a pool of workers
//! consumes them with `#[traced_job(parent = ..)]`, and every job's trace runs
//! unbroken from the API request to its last step.
//!
//! `cargo run --example pipeline` draws each trace in the terminal. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go there instead (configured by
//! `spanwright::init()` from the `OTEL_*` environment).

use spanwright::{span, traced_job};
use spanwright_examples::{JobError, Message, work};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

const JOBS: u64 = 6;
const WORKERS: usize = 3;

#[span(name = "POST /jobs", kind = server, attrs(http.request.method = "POST", http.route = "/jobs"))]
async fn api_request(queue: &mpsc::Sender<Message>, id: u64, object: &str, model: &str) {
    work(id, 2).await;
    publish(queue, id, object, model).await;
}

#[span(
    name = "jobs publish",
    kind = producer,
    attrs(messaging.system = "in-process", messaging.destination.name = "jobs", messaging.message.id = id)
)]
async fn publish(queue: &mpsc::Sender<Message>, id: u64, object: &str, model: &str) {
    let mut attributes = HashMap::new();
    spanwright::inject(&mut attributes);
    let message = Message {
        id,
        attempt: 1,
        object: object.to_owned(),
        model: model.to_owned(),
        attributes,
    };
    queue
        .send(message)
        .await
        .expect("the workers outlive the API");
}

#[traced_job(
    name = "jobs process",
    parent = &message.attributes,
    id = message.id,
    attempt = message.attempt,
    attrs(messaging.system = "in-process", messaging.destination.name = "jobs", worker)
)]
async fn process(message: Message, worker: usize) -> Result<(), JobError> {
    let input = download(&message.object).await?;
    let output = infer(&message.model, &input).await?;
    upload(&message.object, &output).await
}

#[span(name = "storage.download", kind = client, attrs(object.key = key))]
async fn download(key: &str) -> Result<Vec<u8>, JobError> {
    work(key.len() as u64, 5).await;
    if key.starts_with("missing") {
        return Err(JobError::NotFound(key.to_owned()));
    }
    Ok(key.as_bytes().to_vec())
}

#[span(name = "model.infer", kind = client, attrs(model, input.bytes = input.len()))]
async fn infer(model: &str, input: &[u8]) -> Result<Vec<u8>, JobError> {
    work(input.len() as u64, 15).await;
    match model {
        "unknown" => Err(JobError::UnknownModel(model.to_owned())),
        "crashy" => panic!("model server returned a corrupt tensor"),
        _ => Ok(input.iter().rev().copied().collect()),
    }
}

#[span(name = "storage.upload", kind = client, attrs(object.key = key, output.bytes = output.len()))]
async fn upload(key: &str, output: &[u8]) -> Result<(), JobError> {
    work(output.len() as u64, 4).await;
    Ok(())
}

/// Takes jobs until the queue closes. A job runs in its own task, so a panicking
/// job is reported and the worker carries on.
async fn worker(number: usize, queue: Arc<Mutex<mpsc::Receiver<Message>>>) {
    loop {
        let Some(message) = queue.lock().await.recv().await else {
            return;
        };
        let id = message.id;
        match tokio::spawn(process(message, number)).await {
            Ok(Ok(())) => println!("worker {number}: job {id} completed"),
            Ok(Err(error)) => println!("worker {number}: job {id} failed: {error}"),
            Err(panicked) if panicked.is_panic() => {
                println!("worker {number}: job {id} panicked; worker continues")
            }
            Err(other) => println!("worker {number}: job {id} did not finish: {other}"),
        }
    }
}

fn telemetry() -> spanwright::Telemetry {
    let configured = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || std::env::var_os("OTEL_TRACES_EXPORTER").is_some();
    let installed = if configured {
        spanwright::init()
    } else {
        spanwright::Telemetry::builder()
            .service_name("pipeline-example")
            .console()
            .install()
    };
    installed.unwrap_or_else(|error| {
        eprintln!("telemetry not started: {error}");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() {
    // Quiet the default panic report (the job span records the panic). Set before
    // `init`, so spanwright's hook chains this one and still sees every panic.
    std::panic::set_hook(Box::new(|_| {}));
    let telemetry = telemetry();
    let (sender, receiver) = mpsc::channel(16);
    let receiver = Arc::new(Mutex::new(receiver));
    let workers: Vec<_> = (1..=WORKERS)
        .map(|n| tokio::spawn(worker(n, Arc::clone(&receiver))))
        .collect();

    let jobs = [
        ("images/cat.png", "resnet"),
        ("images/dog.png", "resnet"),
        ("missing/bird.png", "resnet"),
        ("audio/speech.wav", "whisper"),
        ("images/fish.png", "unknown"),
        ("images/owl.png", "crashy"),
    ];
    for (id, (object, model)) in (1..=JOBS).zip(jobs) {
        api_request(&sender, id, object, model).await;
    }
    drop(sender);
    for worker in workers {
        worker
            .await
            .expect("workers survive failing and panicking jobs");
    }
    // Dropping the telemetry flushes: every trace is printed or exported.
    drop(telemetry);
}
