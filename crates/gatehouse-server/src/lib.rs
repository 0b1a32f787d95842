//! Gatehouse over HTTP: the axum router, its extractors, the one place that
//! maps domain errors to statuses, and the configuration a node runs with.
//!
//! The server never names a database: it is handed an `Arc<dyn Store>` by
//! whoever builds it (the binary, or a test).

pub mod client_ip;
pub mod config;
pub mod error;
pub mod extract;
pub mod mail;
pub mod openapi;
mod pages;
pub mod proxy;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use config::Config;
pub use routes::app;
pub use startup::Application;
pub use state::AppState;
