//! Profiles: where a login is kept between runs. One directory (`$CHAT_CONFIG_DIR`, else the
//! platform's config dir + `chat`, e.g. `~/.config/chat`) holds, per profile,
//! `profiles/<name>.json` (URLs, token, user and device id: written by `chat login`) and
//! `cursors/<name>.json` (the last seq `chat tail` showed per conversation: written as it
//! shows). Two files, so that a running `tail` never races a `login` over the same bytes.
//! Both hold a bearer token or what it read, so they are written `0600` in a `0700` directory,
//! each write a new file renamed into place (never half a file after a crash).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chat_domain::{ConversationId, DeviceId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// The environment variable that moves the whole config directory (tests, several setups).
pub const CONFIG_DIR_ENV: &str = "CHAT_CONFIG_DIR";

/// A profile's name: letters, digits, `_ - .`, so it is always a safe file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileName(String);

impl ProfileName {
    pub fn parse(raw: &str) -> Result<ProfileName, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && !raw.starts_with('.')
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(ProfileName(raw.to_string()))
        } else {
            Err(format!(
                "invalid profile name {raw:?}: 1-64 letters, digits, `_`, `-` or `.`"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ProfileName {
    type Err = String;
    fn from_str(raw: &str) -> Result<ProfileName, String> {
        ProfileName::parse(raw)
    }
}

/// A stored login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The HTTP API's base (`http://127.0.0.1:3001`, or the HTTP API's invoke URL on AWS).
    pub http_url: String,
    /// The WebSocket stage (`ws://127.0.0.1:3001/local`, `wss://….amazonaws.com/prod`).
    pub ws_url: String,
    pub token: String,
    /// The token's `sub`: who "me" is when showing ticks and skipping one's own messages.
    pub user_id: Option<UserId>,
    /// This profile's device, kept across logins so the server counts one device, not one
    /// per run.
    pub device_id: DeviceId,
}

/// Where `chat tail` stopped: the highest seq shown, per conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub conversations: BTreeMap<ConversationId, u64>,
}

/// The config directory.
#[derive(Debug, Clone)]
pub struct ConfigDir(PathBuf);

impl ConfigDir {
    /// `$CHAT_CONFIG_DIR`, else the platform's config dir + `chat`.
    pub fn locate() -> Result<ConfigDir, CliError> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(ConfigDir(PathBuf::from(dir)));
        }
        dirs::config_dir()
            .map(|dir| ConfigDir(dir.join("chat")))
            .ok_or_else(|| {
                CliError::config(
                    "finding the config dir",
                    std::io::Error::other(format!("no home directory; set {CONFIG_DIR_ENV}")),
                )
            })
    }

    #[cfg(test)]
    pub fn at(path: impl Into<PathBuf>) -> ConfigDir {
        ConfigDir(path.into())
    }

    fn profile_path(&self, name: &ProfileName) -> PathBuf {
        self.0
            .join("profiles")
            .join(format!("{}.json", name.as_str()))
    }

    fn cursor_path(&self, name: &ProfileName) -> PathBuf {
        self.0
            .join("cursors")
            .join(format!("{}.json", name.as_str()))
    }

    /// The login of `name`, or [`CliError::NotLoggedIn`].
    pub fn profile(&self, name: &ProfileName) -> Result<Profile, CliError> {
        self.existing_profile(name)?
            .ok_or_else(|| CliError::NotLoggedIn {
                profile: name.as_str().to_string(),
            })
    }

    pub fn existing_profile(&self, name: &ProfileName) -> Result<Option<Profile>, CliError> {
        read_json(&self.profile_path(name))
    }

    pub fn save_profile(&self, name: &ProfileName, profile: &Profile) -> Result<(), CliError> {
        write_json(&self.profile_path(name), profile)
    }

    /// Where `tail` stopped; `None` before its first run.
    pub fn cursor(&self, name: &ProfileName) -> Result<Option<Cursor>, CliError> {
        read_json(&self.cursor_path(name))
    }

    pub fn save_cursor(&self, name: &ProfileName, cursor: &Cursor) -> Result<(), CliError> {
        write_json(&self.cursor_path(name), cursor)
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(CliError::config(format!("reading {}", path.display()), err)),
    };
    serde_json::from_str(&text).map(Some).map_err(|err| {
        CliError::config(
            format!("reading {}", path.display()),
            std::io::Error::other(err),
        )
    })
}

/// Writes `value` to `path` as a fresh `0600` file renamed over the old one.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CliError> {
    let context = || format!("writing {}", path.display());
    let dir = path
        .parent()
        .ok_or_else(|| CliError::config(context(), std::io::Error::other("no parent dir")))?;
    create_private_dir(dir).map_err(|err| CliError::config(context(), err))?;
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| CliError::config(context(), std::io::Error::other(err)))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    write_private_file(&temp, text.as_bytes())
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            CliError::config(context(), err)
        })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            http_url: "http://127.0.0.1:3001".into(),
            ws_url: "ws://127.0.0.1:3001/local".into(),
            token: "t".into(),
            user_id: UserId::parse("alice").ok(),
            device_id: DeviceId::parse("cli-1").expect("device"),
        }
    }

    #[test]
    fn a_profile_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("dir");
        let config = ConfigDir::at(dir.path());
        let name = ProfileName::parse("work").expect("name");
        assert!(matches!(
            config.profile(&name),
            Err(CliError::NotLoggedIn { .. })
        ));
        config.save_profile(&name, &profile()).expect("save");
        assert_eq!(config.profile(&name).expect("load"), profile());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("profiles/work.json"))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_cursor_round_trips_with_conversation_ids_as_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let config = ConfigDir::at(dir.path());
        let name = ProfileName::parse("default").expect("name");
        assert_eq!(config.cursor(&name).expect("none yet"), None);
        let mut cursor = Cursor::default();
        let id = ConversationId::parse("dm:alice:bob").expect("id");
        cursor.conversations.insert(id, 7);
        config.save_cursor(&name, &cursor).expect("save");
        assert_eq!(config.cursor(&name).expect("load"), Some(cursor));
    }

    #[test]
    fn profile_names_are_safe_file_names() {
        assert!(ProfileName::parse("alice-2.dev").is_ok());
        for bad in ["", "../x", ".hidden", "a/b", "a b"] {
            assert!(ProfileName::parse(bad).is_err(), "{bad}");
        }
    }
}
