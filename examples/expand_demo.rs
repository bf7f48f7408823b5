//! Two small annotated functions, to read the expansion.
#[spanwright::span(kind = client, attrs(id))]
pub fn fetch(id: u64, name: &str) -> Result<usize, std::io::Error> {
    Ok(name.len() + id as usize)
}

#[spanwright::span(attrs(id))]
pub async fn fetch_async(id: u64, name: &str) -> usize {
    name.len() + id as usize
}

fn main() {
    let _ = fetch(1, "x");
}
