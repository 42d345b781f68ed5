//! `UserStore`: profiles and last-seen, one row per user.
//!
//! The two writes touch disjoint columns so neither can undo the other: `put_profile` sets only
//! the profile fields, `touch_last_seen` only `last_seen_at`, and only ever forward (read and
//! written in one writer job, so two racing touches cannot move it back).

use async_trait::async_trait;
use chat_domain::{ChatError, Millis, UserId};
use chat_ports::{PortResult, UserProfile, UserStore};
use rusqlite::{OptionalExtension, params};

use crate::SqliteStore;
use crate::rows::{USER_COLUMNS, UserRow, db, visibility_str};

#[async_trait]
impl UserStore for SqliteStore {
    async fn user(&self, user: &UserId) -> PortResult<Option<UserProfile>> {
        let user = user.to_string();
        self.readers
            .run(move |conn| {
                let row = conn
                    .prepare_cached(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE user_id = ?1"
                    ))
                    .and_then(|mut stmt| stmt.query_row([&user], UserRow::read).optional())
                    .map_err(db("user"))?;
                row.map(UserRow::into_profile).transpose()
            })
            .await
    }

    async fn users(&self, users: &[UserId]) -> PortResult<Vec<UserProfile>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<rusqlite::types::Value> = users
            .iter()
            .map(|u| rusqlite::types::Value::Text(u.to_string()))
            .collect();
        self.readers
            .run(move |conn| {
                let marks = vec!["?"; ids.len()].join(", ");
                let rows = conn
                    .prepare_cached(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE user_id IN ({marks})"
                    ))
                    .and_then(|mut stmt| {
                        stmt.query_map(rusqlite::params_from_iter(ids), UserRow::read)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(db("users"))?;
                rows.into_iter().map(UserRow::into_profile).collect()
            })
            .await
    }

    async fn put_profile(&self, profile: &UserProfile) -> PortResult<()> {
        let user = profile.user_id.to_string();
        let name = profile.display_name.clone();
        let visibility = visibility_str(profile.last_seen_visibility);
        let previews = profile.push_previews;
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO users (user_id, display_name, last_seen_visibility, push_previews)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id) DO UPDATE SET
                         display_name = excluded.display_name,
                         last_seen_visibility = excluded.last_seen_visibility,
                         push_previews = excluded.push_previews",
                )
                .and_then(|mut stmt| stmt.execute(params![user, name, visibility, previews]))
                .map_err(db("put_profile"))?;
                Ok(())
            })
            .await
    }

    async fn touch_last_seen(&self, user: &UserId, at: Millis) -> PortResult<Option<Millis>> {
        let user = user.to_string();
        self.writer
            .run(move |conn| {
                let before: Option<Option<i64>> = conn
                    .prepare_cached("SELECT last_seen_at FROM users WHERE user_id = ?1")
                    .and_then(|mut stmt| stmt.query_row([&user], |row| row.get(0)).optional())
                    .map_err(db("touch_last_seen: reading"))?;
                let before = before.flatten();
                if before.is_some_and(|seen| seen >= at.as_i64()) {
                    return Ok(None);
                }
                conn.prepare_cached(
                    "INSERT INTO users (user_id, last_seen_at) VALUES (?1, ?2)
                     ON CONFLICT (user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                )
                .and_then(|mut stmt| stmt.execute(params![user, at.as_i64()]))
                .map_err(db("touch_last_seen"))?;
                Ok::<_, ChatError>(before.map(Millis))
            })
            .await
    }
}
