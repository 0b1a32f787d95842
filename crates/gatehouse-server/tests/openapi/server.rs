//! A real server for these tests: `Application::build` on 127.0.0.1:0, a
//! fresh SQLite database in a temporary directory, the admin token set,
//! and argon2id at a low cost set through the configuration (built into
//! the hasher the way `gatehouse serve` builds it), so schemathesis's
//! hundreds of sign-ups and sign-ins take seconds, not minutes.

use std::sync::Arc;

use gatehouse_core::clock::SystemClock;
use gatehouse_core::password::{Argon2Hasher, Argon2Params};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::startup::Parts;
use gatehouse_server::{Application, Config};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use secrecy::SecretString;
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "openapi-test-admin-token-0123456789";

pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a server; `tweak` changes the configuration last.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url.clone(),
        admin_token: Some(SecretString::from(ADMIN_TOKEN.to_string())),
        // The lowest cost argon2id takes: the tests check the API, not
        // the hash (core's tests run the real cost).
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..Config::default()
    };
    tweak(&mut config);
    let store = gatehouse_store::open(&DatabaseUrl::parse(&url).unwrap(), &StoreOptions::default())
        .await
        .unwrap();
    let parts = Parts {
        store,
        hasher: Arc::new(Argon2Hasher::new(config.argon2).unwrap()),
        clock: Arc::new(SystemClock),
        master: Arc::new(MasterKeys::parse(&MasterKeys::generate_text().unwrap()).unwrap()),
    };
    let app = Application::build(&config, parts).await.unwrap();
    let base = app.public_url().to_string();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Server {
        base,
        shutdown: Some(tx),
        _dir: dir,
    }
}
