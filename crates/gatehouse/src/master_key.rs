//! Finding the master key that seals private signing keys: from
//! `GATEHOUSE_MASTER_KEY`, or from a key file (by default
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

pub fn load(config: &Config, access: Access) -> CliResult<MasterKeys> {
    if let Some(keys) = &config.master_key {
        return MasterKeys::parse(keys.expose_secret())
            .map_err(|e| format!("GATEHOUSE_MASTER_KEY: {e}").into());
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
