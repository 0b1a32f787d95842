//! The OpenAPI description (`GET /openapi.json`) against the server it
//! describes: every route described and nothing more (`routes`), and
//! schemathesis finding no answer that breaks it (`schemathesis`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod routes;
mod schemathesis;
mod server;
