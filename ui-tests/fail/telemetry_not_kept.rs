#![deny(unused_must_use)]

fn main() {
    // Dropped at once: telemetry would shut down on the same line.
    spanwright::init().unwrap();
}
