//! HTTP integration tests: each test starts its own server on an ephemeral
//! 127.0.0.1 port with its own database (see `helpers::spawn_app`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod accounts;
mod admin;
mod admin_users;
mod backends;
mod browser;
mod compat;
mod discovery;
mod dynamodb;
mod enumeration;
mod faults;
mod faulty_store;
mod forward_auth;
mod guard;
mod health;
mod helpers;
mod hostile_input;
mod interop;
mod keys;
mod login;
mod logout;
mod mail;
mod mail_sink;
mod oauth_clients;
mod oauth_code_flow;
mod oauth_interop;
mod proxy;
mod proxy_mode;
mod rate_limits;
mod register;
mod token_endpoint;
mod unstorable_input;
