#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

trait Storage {
    async fn get(&self, key: &str) -> Option<String>;
    fn put<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

struct Memory;

impl Storage for Memory {
    #[spanwright::span(kind = client, attrs(key))]
    async fn get(&self, key: &str) -> Option<String> {
        Some(key.to_uppercase())
    }

    #[spanwright::span(kind = client, attrs(key))]
    fn put<'a>(&'a self, key: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move { !key.is_empty() })
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (got, spans) = runtime.block_on(spanwright::testing::capture_async(async {
        (Memory.get("a").await, Memory.put("b").await)
    }));
    assert_eq!(got, (Some("A".into()), true));
    assert_eq!(spans.len(), 2);
}
