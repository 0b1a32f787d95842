//! `downstream-axum`: the example service, configured from the environment.
//!
//! ```sh
//! GATEHOUSE_ISSUER=http://127.0.0.1:8080/t/default \
//! DOWNSTREAM_LISTEN=127.0.0.1:3000 cargo run -p downstream-axum
//! curl -H "Authorization: Bearer $AT" http://127.0.0.1:3000/me
//! ```
//!
//! `DOWNSTREAM_INTROSPECTION_CLIENT_ID` and `..._SECRET` (a confidential
//! client of the tenant) also check each token against Gatehouse's
//! introspection endpoint, so revoked tokens are refused.

use std::error::Error;

use gatehouse_verify::Verifier;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,gatehouse_verify=info".into()),
        )
        .init();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let issuer =
        var("GATEHOUSE_ISSUER").unwrap_or_else(|| "http://127.0.0.1:8080/t/default".into());
    let listen = var("DOWNSTREAM_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());

    let mut builder = Verifier::builder(&issuer);
    if let (Some(id), Some(secret)) = (
        var("DOWNSTREAM_INTROSPECTION_CLIENT_ID"),
        var("DOWNSTREAM_INTROSPECTION_CLIENT_SECRET"),
    ) {
        builder = builder.introspection(id, secret);
    }
    let verifier = builder.build()?;
    // Not fatal: the verifier keeps trying in the background, and answers
    // 503 until Gatehouse is reachable.
    if let Err(e) = verifier.refresh().await {
        tracing::warn!(error = %e, "Gatehouse is not reachable yet");
    }

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    tracing::info!(address = %listener.local_addr()?, %issuer, "downstream-axum listening");
    downstream_axum::serve(listener, verifier, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
