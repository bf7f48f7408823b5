//! Otelite (`cargo install --locked otelite --version 0.1.156`): stores what it
//! receives and serves it back at `GET /api/traces/{trace_id}`.
