//! The command line (clap). Global flags feed the configuration layers;
//! each subcommand works on the same database as `serve`, no server needed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Self-hosted authentication for serverless functions and microservices"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalFlags,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that override `GATEHOUSE_*` variables and `gatehouse.toml`.
/// Serialised (absent ones skipped) as the top configuration layer.
#[derive(Debug, Args, Serialize, Default)]
pub struct GlobalFlags {
    /// Configuration file (default: ./gatehouse.toml if present).
    #[arg(long, global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default sqlite://gatehouse.db).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Base URL clients use to reach the server; issuer URLs derive from it.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Log lines as `text` (default) or `json` (one object a line, with
    /// each request's `request_id`).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// Whether a command may create what it finds missing. Each subcommand
/// says which it is in one exhaustive `match` below, so a new `list` or
/// `show` has to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: a missing SQLite file or master key file is an error
    /// naming the path, and nothing is written, not even tenant `default`.
    /// Run from the wrong directory, such a command would otherwise leave
    /// an empty database there and answer from it.
    ReadOnly,
    /// May create the SQLite file, the master key file and tenant `default`,
    /// so `gatehouse user add` works on a fresh install.
    ReadWrite,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Bring the database schema up to date (serve does this too) and exit.
    Migrate,
    /// Create, list and rename tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Add, list, show, disable and delete users; grant and revoke their
    /// roles; list and end their sessions.
    #[command(subcommand)]
    User(UserCommand),
    /// Register, list, show and delete OAuth clients; rotate their secrets.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Inspect a tenant's signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Work with tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Set and show a tenant's route policy (what `{iss}/auth` lets through).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand, name = "apikey")]
    ApiKey(ApiKeyCommand),
    /// Set, list and delete named tenant secrets (webhook signing secrets).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// List a tenant's audit events (logins, lockouts, changes), newest first.
    Events(EventsArgs),
    /// Import users with the password hashes of the system they come from
    /// (SHA-256 hex, bcrypt, Django PBKDF2 or scrypt, scrypt or argon2 PHC);
    /// each hash is upgraded to argon2id at the user's first login.
    Import(ImportArgs),
    /// Answer one OpenFaaS request: JSON on stdin, JSON on stdout (the
    /// classic watchdog's protocol, as the Ruby functions spoke it).
    Invoke {
        action: InvokeAction,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Serve the HTTP API as an AWS Lambda function behind API Gateway.
    Lambda,
    /// Answer API Gateway Lambda authorizer events (REST TOKEN/REQUEST,
    /// HTTP API payload 2.0) for GATEHOUSE_AUTHORIZER_TENANT.
    LambdaAuthorizer,
}

impl Command {
    pub fn access(&self) -> Access {
        match self {
            Command::Tenant(TenantCommand::List)
            | Command::User(
                UserCommand::List { .. } | UserCommand::Show { .. } | UserCommand::Sessions { .. },
            )
            | Command::Client(ClientCommand::List { .. } | ClientCommand::Show { .. })
            | Command::Key(KeyCommand::List { .. } | KeyCommand::Secret { .. })
            | Command::Token(TokenCommand::Verify { .. })
            | Command::Policy(PolicyCommand::Show { .. })
            | Command::ApiKey(ApiKeyCommand::List { .. })
            | Command::Secret(SecretCommand::List { .. })
            | Command::Events(_) => Access::ReadOnly,
            Command::Serve(_)
            | Command::Migrate
            | Command::Tenant(TenantCommand::Create { .. } | TenantCommand::Set { .. })
            | Command::User(
                UserCommand::Add { .. }
                | UserCommand::Delete { .. }
                | UserCommand::Grant { .. }
                | UserCommand::Revoke { .. }
                | UserCommand::Disable { .. }
                | UserCommand::Enable { .. }
                | UserCommand::Unlock { .. }
                | UserCommand::RevokeSessions { .. },
            )
            | Command::Client(
                ClientCommand::Create { .. }
                | ClientCommand::Delete { .. }
                | ClientCommand::RotateSecret { .. },
            )
            | Command::Key(KeyCommand::Rotate { .. } | KeyCommand::Rewrap)
            | Command::Policy(PolicyCommand::Set { .. })
            | Command::ApiKey(ApiKeyCommand::Create { .. } | ApiKeyCommand::Revoke { .. })
            | Command::Secret(SecretCommand::Set { .. } | SecretCommand::Delete { .. })
            | Command::Import(_)
            | Command::Invoke { .. }
            | Command::Lambda
            | Command::LambdaAuthorizer => Access::ReadWrite,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant the users join.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// A .jsonl or .csv file (fields: username, password_hash, and
    /// optionally id, email, first_name, last_name, roles).
    #[arg(conflicts_with = "from_mysql")]
    pub file: Option<PathBuf>,
    /// The file's format, when its extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Read the Ruby functions' users table from this MySQL/MariaDB URL.
    #[arg(long)]
    pub from_mysql: Option<String>,
    /// The table to read with --from-mysql.
    #[arg(long, requires = "from_mysql")]
    pub table: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ImportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InvokeAction {
    Register,
    Login,
    Verify,
}

impl InvokeAction {
    /// The compat route it stands for: `{iss}/compat/openfaas/{path}`.
    pub fn path(self) -> &'static str {
        match self {
            InvokeAction::Register => "register",
            InvokeAction::Login => "login",
            InvokeAction::Verify => "verify",
        }
    }
}

#[derive(Debug, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Proxy mode: also listen here, judge every request by the policies
    /// of --proxy-tenant and forward those that may pass to --upstream.
    #[arg(long, requires = "upstream")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_listen: Option<String>,
    /// Where proxy mode forwards to: http://host:port[/prefix].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The tenant whose policies proxy mode applies (default: default).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_tenant: Option<String>,
    /// Also listen here, serving only GET /metrics (Prometheus) without a
    /// token; keep it off the public network.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its first signing key.
    Create {
        /// Lowercase letters, digits and `-`, 1 to 63 characters.
        name: String,
        /// RS256 (default), PS256, ES256, EdDSA or HS256.
        #[arg(long)]
        algorithm: Option<String>,
        /// Access-token lifetime, e.g. 15m (default) or 1h.
        #[arg(long)]
        access_ttl: Option<humantime::Duration>,
        /// An accepted `aud` value; repeat for several (default: the issuer URL).
        #[arg(long = "audience")]
        audiences: Vec<String>,
        /// The name the hosted login page shows, e.g. "Acme Corp"
        /// (default: the tenant's name).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List tenants.
    List,
    /// Change a tenant's settings: its display name, email verification
    /// and the From of its mails (at least one).
    #[command(group(
        clap::ArgGroup::new("change")
            .required(true)
            .multiple(true)
            .args([
                "display_name",
                "clear_display_name",
                "email_verification",
                "mail_from",
                "clear_mail_from",
            ])
    ))]
    Set {
        name: String,
        /// The name the hosted login page shows, 1 to 100 characters.
        #[arg(long, conflicts_with = "clear_display_name")]
        display_name: Option<String>,
        /// Show the tenant's own name on the hosted pages again.
        #[arg(long)]
        clear_display_name: bool,
        /// `off`, `optional` (the default) or `required` (logins wait for a
        /// verified address).
        #[arg(long, value_name = "MODE")]
        email_verification: Option<String>,
        /// The From of the tenant's mails, e.g. "Acme <no-reply@acme.example>".
        #[arg(long, value_name = "ADDR", conflicts_with = "clear_mail_from")]
        mail_from: Option<String>,
        /// Send the tenant's mails from GATEHOUSE_SMTP_FROM again.
        #[arg(long)]
        clear_mail_from: bool,
    },
}

/// `gatehouse events`: a page of audit events.
#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Only this kind (`login.failure`, `user.disabled`, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events about this user, client or key id.
    #[arg(long)]
    pub subject: Option<String>,
    /// Only events of the last DURATION (`1h`, `7d`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Events per page, 1 to 500.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// The `next_cursor` of the page before.
    #[arg(long, allow_hyphen_values = true)]
    pub cursor: Option<String>,
    /// Print `{"events": [...], "next_cursor": ...}` as the admin API does.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input (one line),
    /// never from the command line where `ps` would show it.
    Add {
        #[arg(long, default_value = "default")]
        tenant: String,
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// List a tenant's users: all of them, one JSON line each; or, with
    /// --search, --limit, --cursor or --json, one page in id order (as
    /// `/admin/t/{tenant}/users` answers).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Only users whose username or email starts with this, in any case.
        #[arg(long)]
        search: Option<String>,
        /// Users per page, 1 to 200 (default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// The `next_cursor` of the page before.
        #[arg(long, allow_hyphen_values = true)]
        cursor: Option<String>,
        /// Print the admin API's JSON (`{"users": [...], "next_cursor": ...}`).
        #[arg(long)]
        json: bool,
    },
    /// Show one user (by id or username).
    Show {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print the admin API's JSON instead of labelled lines.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (by id or username): their sessions end at once and
    /// their logins are refused (`account_disabled`) until enabled again.
    Disable {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print the user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lift a user's soft-lock (after repeated wrong passwords) now.
    Unlock {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print the user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled user again (their old sessions stay ended).
    Enable {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print the user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user (by id or username) and end their sessions; the
    /// username and email are free for a new account afterwards.
    Delete {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print `{"deleted": "<id>"}`.
        #[arg(long)]
        json: bool,
    },
    /// List a user's active sessions, newest first: created, last
    /// refreshed, client, IP and user agent.
    Sessions {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Print the admin API's JSON (`{"sessions": [...]}`).
        #[arg(long)]
        json: bool,
    },
    /// End a user's sessions: all of them, or the one named by --session.
    RevokeSessions {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// Only this session (an id from `gatehouse user sessions`).
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        session: Option<String>,
        /// Print `{"revoked": n}`.
        #[arg(long)]
        json: bool,
    },
    /// Give a user (by id or username) a role: carried as `roles` in their
    /// tokens, and letting them be granted the scope of the same name.
    /// Tokens already issued keep their roles until they expire.
    Grant {
        #[arg(long, default_value = "default")]
        tenant: String,
        user: String,
        role: String,
    },
    /// Take a role away from a user (by id or username).
    Revoke {
        #[arg(long, default_value = "default")]
        tenant: String,
        user: String,
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential one gets a secret, printed once,
    /// here, and stored only as a hash.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// What the client is, 1 to 128 characters (shown to admins).
        #[arg(long)]
        name: String,
        /// `confidential` (default: it keeps a secret) or `public` (a
        /// browser or native app: no secret, PKCE).
        #[arg(long = "type", value_name = "TYPE")]
        client_type: Option<String>,
        /// Grants it may use: client_credentials, authorization_code,
        /// refresh_token; comma- or space-separated, or repeated (default:
        /// client_credentials for a confidential client without redirect
        /// URIs, else authorization_code and refresh_token).
        #[arg(long, value_name = "GRANTS")]
        grants: Vec<String>,
        /// The most it may be granted; comma- or space-separated, or
        /// repeated (default: openid profile email [offline_access] for a
        /// client that signs users in, else none).
        #[arg(long, value_name = "SCOPES")]
        scopes: Vec<String>,
        /// An exact URI authorization codes may be sent to; repeat for several.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// An exact URI users may be sent to after logging out; repeat for several.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Print the admin API's JSON instead of labelled lines.
        #[arg(long)]
        json: bool,
    },
    /// List the tenant's clients (never their secrets).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print the admin API's JSON (an array) instead of one line each.
        #[arg(long)]
        json: bool,
    },
    /// Show one client (never its secret).
    Show {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Client ids are base64url, so one may start with `-`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Print the admin API's JSON instead of labelled lines.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and revoke every session issued to it.
    Delete {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Client ids are base64url, so one may start with `-`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Give a confidential client a new secret, printed once; the old one
    /// keeps working for the overlap, so its services can move over.
    RotateSecret {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Client ids are base64url, so one may start with `-`.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// How long the old secret stays valid, e.g. 24h, 30m or 0s
        /// (default: the configured client_secret_overlap; at most 30 days).
        #[arg(long)]
        overlap: Option<humantime::Duration>,
        /// Print the admin API's JSON instead of labelled lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List a tenant's keys (public information only).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Start a rotation: publish a successor that signs after the
    /// pre-publication window (or at once with --immediately).
    Rotate {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Switch the tenant to this algorithm (RS256, PS256, ES256, EdDSA, HS256).
        #[arg(long)]
        algorithm: Option<String>,
        /// Sign with the new key now (for a compromised key); verifiers
        /// with a cached JWKS reject new tokens until their cache expires.
        #[arg(long)]
        immediately: bool,
    },
    /// Re-seal every private key with the first configured master key,
    /// after adding a new one in front of GATEHOUSE_MASTER_KEY.
    Rewrap,
    /// Print an HS256 tenant's shared secret (base64url), for the services
    /// that verify its tokens. Asymmetric tenants publish JWKS instead.
    Secret {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify an access token offline; prints its claims or why it fails.
    Verify {
        jwt: String,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Replace the tenant's rules with those of a policy file (checked
    /// whole first: a malformed file is refused and nothing changes).
    Set {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A .json or .toml file, or `-` for JSON on standard input.
        file: PathBuf,
    },
    /// Print the tenant's rules as they were set.
    Show {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long, value_enum, default_value_t = PolicyFormatArg::Json)]
        format: PolicyFormatArg,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PolicyFormatArg {
    Json,
    Toml,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key; it is printed once, here, and stored only as a hash.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// What the key is for, 1 to 100 characters.
        #[arg(long)]
        name: String,
        /// A scope the key holds; repeat for several (default: none).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime, e.g. 30d or 12h (default: no expiry).
        #[arg(long)]
        expires_in: Option<humantime::Duration>,
        /// The user (id or username) the key acts as (default: a service key).
        #[arg(long)]
        user: Option<String>,
    },
    /// List the tenant's keys (never their secrets), or one user's.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Only this user's keys (id or username).
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key by its id: refused from now on (by running servers
    /// within their API-key cache lifetime).
    Revoke {
        #[arg(long, default_value = "default")]
        tenant: String,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create or replace a secret. The value is read from standard input
    /// (one line), never from the command line where `ps` would show it;
    /// or --generate makes one and prints it, once.
    Set {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// 1 to 64 letters, digits, `_`, `.` or `-`.
        name: String,
        #[arg(long)]
        generate: bool,
    },
    /// List the tenant's secrets: names and ages, never values.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Delete a secret.
    Delete {
        #[arg(long, default_value = "default")]
        tenant: String,
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn client_ids_may_start_with_a_hyphen() {
        for args in [
            ["gatehouse", "client", "show", "-Ab_c", "--json"],
            ["gatehouse", "client", "show", "--json", "-Ab_c"],
        ] {
            let cli = Cli::try_parse_from(args).map_err(|e| e.to_string());
            let Ok(Cli {
                command:
                    Command::Client(ClientCommand::Show {
                        client_id, json, ..
                    }),
                ..
            }) = cli
            else {
                panic!("{args:?}: {cli:?}");
            };
            assert_eq!((client_id.as_str(), json), ("-Ab_c", true), "{args:?}");
        }
        let cli = Cli::try_parse_from([
            "gatehouse",
            "client",
            "rotate-secret",
            "-Ab_c",
            "--overlap",
            "1h",
        ]);
        assert!(
            matches!(
                cli,
                Ok(Cli {
                    command: Command::Client(ClientCommand::RotateSecret {
                        overlap: Some(_),
                        ..
                    }),
                    ..
                })
            ),
            "{cli:?}"
        );
    }
}
