//! Finding the master key that seals private signing keys: from
//! `GATEHOUSE_MASTER_KEY`; from an AWS Secrets Manager secret named by
//! `GATEHOUSE_MASTER_KEY_SECRET` (ARN or name), so a Lambda function keeps
//! no key in its environment; or from a key file (by default
//! `gatehouse.master.key` beside the SQLite database), created with mode
//! 0600 on first start (by a command that writes; one that only reads
//! reports a missing file instead).

use std::io::Write;
use std::path::{Path, PathBuf};

use gatehouse_core::sealing::MasterKeys;
use gatehouse_server::Config;
use secrecy::ExposeSecret;

use crate::CliResult;
use crate::cli::Access;

pub const DEFAULT_FILE_NAME: &str = "gatehouse.master.key";

pub async fn load(config: &Config, access: Access) -> CliResult<MasterKeys> {
    if let Some(keys) = &config.master_key {
        return MasterKeys::parse(keys.expose_secret())
            .map_err(|e| format!("GATEHOUSE_MASTER_KEY: {e}").into());
    }
    #[cfg(feature = "aws")]
    if let Some(secret) = &config.master_key_secret {
        return secrets_manager::load(secret).await;
    }
    #[cfg(not(feature = "aws"))]
    if config.master_key_secret.is_some() {
        return Err(
            "GATEHOUSE_MASTER_KEY_SECRET needs a gatehouse built with the `aws` feature".into(),
        );
    }
    let path = match &config.master_key_file {
        Some(p) => PathBuf::from(p),
        None => default_path(&config.database_url)?,
    };
    if !path.exists() {
        if access == Access::ReadOnly {
            let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
            return Err(format!(
                "no master key file at {}; set GATEHOUSE_MASTER_KEY or master_key_file \
                 to the key the server uses",
                shown.display()
            )
            .into());
        }
        create(&path)?;
        tracing::info!(path = %path.display(), "created a new master key file; back it up with the database");
    }
    warn_if_readable_by_others(&path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the master key file {}: {e}", path.display()))?;
    MasterKeys::parse(&text).map_err(|e| format!("master key file {}: {e}", path.display()).into())
}

/// Beside the SQLite file; other backends have no file to sit beside.
fn default_path(database_url: &str) -> CliResult<PathBuf> {
    let db_path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"))
        .ok_or(
            "no master key: set GATEHOUSE_MASTER_KEY (32 bytes, base64url) or master_key_file; \
             the default key file only exists beside a SQLite database file",
        )?;
    let dir = Path::new(db_path).parent().unwrap_or(Path::new(""));
    Ok(dir.join(DEFAULT_FILE_NAME))
}

fn create(path: &Path) -> CliResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create the master key file {}: {e}", path.display()))?;
    writeln!(file, "{}", MasterKeys::generate_text()?)?;
    file.sync_all()?;
    Ok(())
}

/// The master key from AWS Secrets Manager: the secret's current version
/// seals, and its previous version (`AWSPREVIOUS`, left by putting a new
/// value) stays as an old key, so rotating is: put a new secret value,
/// restart (a Lambda cold start), `gatehouse key rewrap`. Each version's
/// text is one key or a comma-separated list, as `GATEHOUSE_MASTER_KEY`.
/// Fetched once per start; the value never reaches a log or an error.
#[cfg(feature = "aws")]
mod secrets_manager {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    use gatehouse_core::sealing::MasterKeys;
    use secrecy::{ExposeSecret, SecretString};

    use crate::CliResult;

    pub async fn load(secret_id: &str) -> CliResult<MasterKeys> {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        // A local stand-in (moto, LocalStack) is named the SDK's standard
        // way: AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL).
        let client = aws_sdk_secretsmanager::Client::new(&shared);
        let current = fetch(&client, secret_id, "AWSCURRENT")
            .await?
            .ok_or_else(|| not_found(secret_id))?;
        let mut text = current.expose_secret().trim().to_string();
        if let Some(previous) = fetch(&client, secret_id, "AWSPREVIOUS").await? {
            text.push(',');
            text.push_str(previous.expose_secret().trim());
        }
        let text = SecretString::from(text);
        MasterKeys::parse(text.expose_secret()).map_err(|e| {
            format!("the master key secret {secret_id} does not hold a master key: {e}").into()
        })
    }

    fn not_found(secret_id: &str) -> Box<dyn std::error::Error + Send + Sync> {
        format!(
            "GATEHOUSE_MASTER_KEY_SECRET: no secret {secret_id} in AWS Secrets Manager \
             (check the name or ARN, and the region)"
        )
        .into()
    }

    /// The text of one version stage; `None` if the secret has no such
    /// version (only `AWSPREVIOUS` may be missing).
    async fn fetch(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
        stage: &str,
    ) -> CliResult<Option<SecretString>> {
        match client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(out) => match out.secret_string {
                Some(text) => Ok(Some(SecretString::from(text))),
                None => Err(format!(
                    "the master key secret {secret_id} holds binary data; store the key as text"
                )
                .into()),
            },
            Err(e) => {
                let code = e
                    .as_service_error()
                    .and_then(|s| s.code())
                    .map(str::to_string);
                match code.as_deref() {
                    Some("ResourceNotFoundException") => Ok(None),
                    Some(code) => Err(format!(
                        "reading the master key secret {secret_id} from AWS Secrets Manager failed: {code}"
                    )
                    .into()),
                    // Not the service's answer: no credentials, no region,
                    // no network. The SDK's description names which; it
                    // holds no secret (nothing was read).
                    None => Err(format!(
                        "reading the master key secret {secret_id} from AWS Secrets Manager failed: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    )
                    .into()),
                }
            }
        }
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the master key file is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_sits_beside_the_sqlite_database() {
        assert_eq!(
            default_path("sqlite://gatehouse.db").unwrap(),
            PathBuf::from("gatehouse.master.key")
        );
        assert_eq!(
            default_path("sqlite:///var/lib/gh/g.db?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/gh/gatehouse.master.key")
        );
        assert!(default_path("sqlite::memory:").is_err());
        assert!(default_path("postgres://db/gh").is_err());
    }
}
