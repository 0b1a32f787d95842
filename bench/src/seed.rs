//! The scale runs' data (`bench/scale.sh`), written straight into the
//! server's store, and the access tokens their `/auth` load presents.
//!
//! * `seed` — tenants through core's own services (each with its own
//!   signing key, generated and sealed with the server's master key as
//!   `Tenants::create` does, and one confidential client-credentials
//!   client registered by `Clients::create`), and users in big batches.
//!   Users skip HTTP and argon2: ONE argon2id hash at the server's default
//!   cost is made and every user gets it, so a seeded user's `/login`
//!   costs exactly what a registered user's does. Their rows are core's
//!   `User` values (`User::new_account`, the username in its stored form and
//!   its lookup key from core's functions) written to the columns the
//!   store's `create_user` writes, many per statement and `--batch` per
//!   transaction: one row per round trip would take hours for a million.
//! * `mint-tokens` — one client-credentials grant per seeded tenant at
//!   the running server (`POST /t/{tenant}/token`), so every tenant has a
//!   valid access token signed by its own key.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use gatehouse_core::algorithm::SigningAlgorithm;
use gatehouse_core::clock::{Clock, SystemClock};
use gatehouse_core::oauth::client::ClientSpec;
use gatehouse_core::password::{Argon2Hasher, Argon2Params, PasswordHash, PasswordHasher};
use gatehouse_core::sealing::MasterKeys;
use gatehouse_core::service::{Parts, Services, Settings};
use gatehouse_core::tenant::{Tenant, TenantSpec};
use gatehouse_core::user::{User, username_display, username_key};
use gatehouse_store::{DatabaseUrl, StoreOptions};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::Connection;

use crate::BenchResult;

/// Rows per INSERT statement: 16 columns x 1,000 rows stays under the
/// bind-parameter limits of SQLite (32,766) and PostgreSQL (65,535).
const ROWS_PER_STATEMENT: usize = 1_000;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The server's database (sqlite://PATH or postgres://...). The store's
    /// own migrations bring its schema up to date first.
    #[arg(long)]
    database_url: String,
    /// The server's master key: the tenants' signing keys are sealed with it.
    #[arg(long, env = "GATEHOUSE_MASTER_KEY", hide_env_values = true)]
    master_key: String,
    /// Tenants to create, named PREFIX00001, PREFIX00002, ...
    #[arg(long, default_value_t = 0)]
    tenants: u32,
    #[arg(long, default_value = "scale-")]
    tenant_prefix: String,
    /// The seeded tenants' signing algorithm (ES256: cheap to generate).
    #[arg(long, default_value = "ES256")]
    algorithm: String,
    /// Where to write `tenant client_id client_secret`, one seeded tenant
    /// a line (required with --tenants).
    #[arg(long)]
    clients_out: Option<PathBuf>,
    /// Users to add to --user-tenant, named PREFIX%08d from --first-user on.
    #[arg(long, default_value_t = 0)]
    users: u64,
    #[arg(long, default_value_t = 0)]
    first_user: u64,
    /// The tenant the users belong to (made as the server makes `default`
    /// if it does not exist).
    #[arg(long, default_value = "default")]
    user_tenant: String,
    #[arg(long, default_value = "user")]
    user_prefix: String,
    /// Every seeded user's password.
    #[arg(
        long,
        env = "BENCH_PASSWORD",
        hide_env_values = true,
        default_value = "scale-bench-password-1"
    )]
    password: String,
    /// Users per transaction.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch: u64,
    /// Write what was seeded and how long it took here as JSON (default: stdout).
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct SeedResults {
    pub backend: String,
    pub tenants_created: u32,
    pub tenant_algorithm: String,
    /// Creating the tenants, their keys and their clients.
    pub tenants_secs: f64,
    pub users_created: u64,
    pub first_user: u64,
    pub user_tenant: String,
    /// The one argon2id hash every seeded user shares.
    pub hash_secs: f64,
    /// Inserting the users (after the hash), and tidying up after them.
    pub users_secs: f64,
    pub users_per_sec: f64,
    /// PostgreSQL: `VACUUM ANALYZE users` (what autovacuum would do after
    /// the bulk load, done now so it cannot run during a measurement);
    /// SQLite: a WAL checkpoint.
    pub tidy_secs: f64,
    pub argon2: String,
}

pub async fn seed(args: SeedArgs) -> BenchResult<SeedResults> {
    let url = DatabaseUrl::parse(&args.database_url)?;
    let backend = match url.scheme() {
        "sqlite" => Backend::Sqlite,
        "postgres" | "postgresql" => Backend::Postgres,
        other => return Err(format!("seed: sqlite:// or postgres:// only, not {other}://").into()),
    };
    let algorithm = args.algorithm.parse::<SigningAlgorithm>()?;
    if args.tenants > 0 && args.clients_out.is_none() {
        return Err("--tenants needs --clients-out (the clients' secrets go there)".into());
    }
    let store = gatehouse_store::open(&url, &StoreOptions::default()).await?;
    let params = Argon2Params::default();
    let hasher = Arc::new(Argon2Hasher::new(params)?);
    let services = Services::new(
        Parts {
            store,
            hasher: hasher.clone(),
            clock: Arc::new(SystemClock),
            master: Arc::new(MasterKeys::parse(&args.master_key)?),
        },
        Settings::default(),
        // Issuers are derived by the server from its own URL when it
        // serves; nothing seeded here stores one.
        "http://127.0.0.1",
    )?;
    // A wrong master key must stop us before anything is written, as it
    // stops the server.
    services.signing_keys.check_master_keys().await?;

    let started = Instant::now();
    if let Some(path) = &args.clients_out {
        seed_tenants(&services, &args, algorithm, path).await?;
    }
    let tenants_secs = started.elapsed().as_secs_f64();

    let mut hash_secs = 0.0;
    let mut users_secs = 0.0;
    let mut tidy_secs = 0.0;
    if args.users > 0 {
        let tenant = services.tenants.ensure(&args.user_tenant).await?;
        let started = Instant::now();
        let hash = hasher.hash(&SecretString::from(args.password.clone()))?;
        hash_secs = started.elapsed().as_secs_f64();
        if hasher.needs_rehash(&hash) {
            return Err("the seeded hash would be upgraded at every login".into());
        }
        let started = Instant::now();
        let users = UserBatch {
            tenant: &tenant,
            prefix: &args.user_prefix,
            hash: &hash,
            now: SystemClock.now(),
        };
        tidy_secs = match backend {
            Backend::Sqlite => seed_users_sqlite(&args, &users).await?,
            Backend::Postgres => seed_users_postgres(&args, &users).await?,
        };
        users_secs = started.elapsed().as_secs_f64();
    }
    // The clients' `client.created` events are written in the background.
    services.audit().flush().await;

    Ok(SeedResults {
        backend: url.scheme().to_string(),
        tenants_created: args.tenants,
        tenant_algorithm: algorithm.as_str().to_string(),
        tenants_secs,
        users_created: args.users,
        first_user: args.first_user,
        user_tenant: args.user_tenant,
        hash_secs,
        users_secs,
        users_per_sec: if users_secs > 0.0 {
            args.users as f64 / users_secs
        } else {
            0.0
        },
        tidy_secs,
        argon2: format!(
            "argon2id m={} KiB t={} p={} (the server's default)",
            params.memory_kib, params.iterations, params.parallelism
        ),
    })
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// `name` of the i-th seeded tenant (1-based): what `mint-tokens` and the
/// load scripts find in the clients file, never recomputed elsewhere.
fn tenant_name(prefix: &str, i: u32) -> String {
    format!("{prefix}{i:05}")
}

/// One tenant at a time through core: `Tenants::create` (tenant and first
/// key in one transaction), the context load, `Clients::create`. Several
/// run at once; SQLite serialises their writes itself.
async fn seed_tenants(
    services: &Services,
    args: &SeedArgs,
    algorithm: SigningAlgorithm,
    clients_out: &Path,
) -> BenchResult<()> {
    let mut out = BufWriter::new(
        std::fs::File::create(clients_out)
            .map_err(|e| format!("cannot create {}: {e}", clients_out.display()))?,
    );
    let started = Instant::now();
    let mut next = 1u32;
    let mut done = 0u32;
    let mut tasks = tokio::task::JoinSet::new();
    let mut lines = std::collections::BTreeMap::new();
    while done < args.tenants {
        while next <= args.tenants && tasks.len() < 4 {
            let services = services.clone();
            let name = tenant_name(&args.tenant_prefix, next);
            tasks.spawn(async move { create_tenant(&services, name, algorithm).await });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (name, client_id, secret) = joined??;
        lines.insert(name.clone(), (client_id, secret));
        done += 1;
        if done.is_multiple_of(1_000) {
            eprintln!(
                "seed: {done} tenants ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    for (name, (client_id, secret)) in lines {
        writeln!(out, "{name} {client_id} {}", secret.expose_secret())?;
    }
    out.flush()?;
    Ok(())
}

async fn create_tenant(
    services: &Services,
    name: String,
    algorithm: SigningAlgorithm,
) -> BenchResult<(String, String, SecretString)> {
    services
        .tenants
        .create(
            &name,
            TenantSpec {
                algorithm: Some(algorithm),
                ..TenantSpec::default()
            },
        )
        .await?;
    let ctx = services.contexts.get(&name).await?;
    let client = services
        .clients
        .create(
            &ctx,
            ClientSpec {
                name: "scale".into(),
                client_type: Some("confidential".into()),
                grants: vec!["client_credentials".into()],
                ..ClientSpec::default()
            },
        )
        .await?;
    let secret = client
        .client_secret
        .ok_or("a confidential client was registered without a secret")?;
    Ok((name, client.client.client_id, secret))
}

/// What every seeded user shares.
struct UserBatch<'a> {
    tenant: &'a Tenant,
    prefix: &'a str,
    hash: &'a PasswordHash,
    now: i64,
}

impl UserBatch<'_> {
    /// User number `n`, a new account as `Accounts::register` makes one
    /// (`User::new_account`), without email or names.
    fn user(&self, n: u64) -> BenchResult<(User, String)> {
        let username = username_display(&format!("{}{n:08}", self.prefix))?;
        let key = username_key(&username).ok_or("a seeded username has no lookup key")?;
        Ok((
            User::new_account(&self.tenant.id, username, self.hash.clone(), self.now),
            key,
        ))
    }

    fn rows(&self, from: u64, to: u64) -> BenchResult<Vec<(User, String)>> {
        (from..to).map(|n| self.user(n)).collect()
    }
}

/// The columns and their order of the store's `create_user`.
const INSERT_USERS: &str = "INSERT INTO users (id, tenant_id, username, username_key, email, \
     email_key, first_name, last_name, roles, email_verified, disabled, failed_logins, \
     lock_count, locked_until, password_hash, created_at) ";

/// One multi-row INSERT of `rows` into `$tx`, binding each value as the
/// store's drivers do (text, optional text, bool, i64, optional i64).
macro_rules! insert_rows {
    ($db:ty, $tx:expr, $rows:expr) => {{
        let mut query = sqlx::QueryBuilder::<$db>::new(INSERT_USERS);
        query.push_values($rows, |mut row, (user, key): &(User, String)| {
            // `create_user` stores the roles as a JSON list.
            let roles = serde_json::to_string(&user.roles).unwrap_or_else(|_| "[]".into());
            row.push_bind(user.id.clone())
                .push_bind(user.tenant_id.clone())
                .push_bind(user.username.clone())
                .push_bind(key.clone())
                .push_bind(user.email.clone())
                .push_bind(None::<String>) // email_key of no email
                .push_bind(user.first_name.clone())
                .push_bind(user.last_name.clone())
                .push_bind(roles)
                .push_bind(user.email_verified)
                .push_bind(user.disabled)
                .push_bind(user.failed_logins)
                .push_bind(user.lock_count)
                .push_bind(user.locked_until)
                .push_bind(user.password_hash.0.clone())
                .push_bind(user.created_at);
        });
        query.build().execute(&mut *$tx).await?;
    }};
}

/// Transactions of `--batch` users, each many INSERTs of many rows; the
/// rows of the next statement are built while none is running, which on
/// one connection is all there is to overlap.
macro_rules! seed_users_with {
    ($db:ty, $conn:expr, $args:expr, $users:expr) => {{
        let (first, total, batch) = ($args.first_user, $args.users, $args.batch);
        let end = first + total;
        let started = Instant::now();
        let mut reported = 0u64;
        let mut from = first;
        while from < end {
            let to = (from + batch).min(end);
            let mut tx = $conn.begin().await?;
            let mut at = from;
            while at < to {
                let upto = (at + ROWS_PER_STATEMENT as u64).min(to);
                let rows = $users.rows(at, upto)?;
                insert_rows!($db, tx, rows.iter());
                at = upto;
            }
            tx.commit().await?;
            from = to;
            if (from - first) / 100_000 > reported {
                reported = (from - first) / 100_000;
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "seed: {} users ({secs:.1} s, {:.0}/s)",
                    from - first,
                    (from - first) as f64 / secs
                );
            }
        }
    }};
}

async fn seed_users_sqlite(args: &SeedArgs, users: &UserBatch<'_>) -> BenchResult<f64> {
    use std::str::FromStr;
    // The store set WAL mode on the file; a writer waits for the server's
    // transactions instead of failing.
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&args.database_url)?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    seed_users_with!(sqlx::Sqlite, conn, args, users);
    let started = Instant::now();
    // Leave no large WAL for the server's first writes to checkpoint.
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn seed_users_postgres(args: &SeedArgs, users: &UserBatch<'_>) -> BenchResult<f64> {
    let mut conn = sqlx::PgConnection::connect(&args.database_url).await?;
    seed_users_with!(sqlx::Postgres, conn, args, users);
    let started = Instant::now();
    // Autovacuum would vacuum and analyse the table after this many new
    // rows anyway, at a moment of its choosing (perhaps during a measured
    // window, on the cores the server and load generator use): do it now.
    sqlx::query("VACUUM (ANALYZE) users")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(started.elapsed().as_secs_f64())
}

#[derive(Debug, Args)]
pub struct MintArgs {
    /// The running server's root, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    base_url: String,
    /// The `seed --clients-out` file.
    #[arg(long)]
    clients: PathBuf,
    /// Only the first N tenants of the file.
    #[arg(long)]
    limit: Option<usize>,
    /// Grants in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Written as `tenant access_token`, one tenant a line, in file order.
    #[arg(long)]
    out: PathBuf,
}

/// One `client_credentials` grant per tenant of the clients file.
pub async fn mint_tokens(args: MintArgs) -> BenchResult<()> {
    let base = crate::http::loopback_base_url(&args.base_url)?;
    let file = std::fs::File::open(&args.clients)
        .map_err(|e| format!("cannot read {}: {e}", args.clients.display()))?;
    let mut clients = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next(), fields.next()) {
            (Some(t), Some(id), Some(secret)) => {
                clients.push((t.to_string(), id.to_string(), SecretString::from(secret)))
            }
            _ if line.trim().is_empty() => {}
            _ => return Err(format!("{}: not `tenant id secret`", args.clients.display()).into()),
        }
    }
    clients.truncate(args.limit.unwrap_or(usize::MAX));
    let concurrency = usize::from(args.concurrency);
    let client = crate::http::load_client(concurrency, Duration::from_secs(30))?;
    let started = Instant::now();
    let mut tokens: Vec<Option<String>> = vec![None; clients.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = clients.into_iter().enumerate();
    loop {
        while tasks.len() < concurrency {
            let Some((i, (tenant, id, secret))) = pending.next() else {
                break;
            };
            let (client, url) = (client.clone(), format!("{base}/t/{tenant}/token"));
            tasks.spawn(async move {
                let answer = client
                    .post(&url)
                    .basic_auth(&id, Some(secret.expose_secret()))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await?;
                let status = answer.status();
                let body: serde_json::Value = answer.json().await?;
                let token = body["access_token"]
                    .as_str()
                    .filter(|_| status.is_success())
                    .ok_or_else(|| format!("{url} answered {status}: {body}"))?;
                BenchResult::Ok((i, format!("{tenant} {token}")))
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (i, line) = joined??;
        if let Some(slot) = tokens.get_mut(i) {
            *slot = Some(line);
        }
    }
    let mut out = BufWriter::new(
        std::fs::File::create(&args.out)
            .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?,
    );
    for line in tokens.into_iter().flatten() {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    eprintln!(
        "mint-tokens: one access token for each tenant in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_valid_and_sort_in_order() {
        let a = tenant_name("scale-", 9);
        let b = tenant_name("scale-", 10_000);
        assert_eq!(a, "scale-00009");
        assert!(a < b);
        assert!(gatehouse_core::tenant::TenantName::parse(&b).is_ok());
    }
}
