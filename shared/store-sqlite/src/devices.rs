//! `DeviceStore` and `PushLedger`: devices registered for push in `devices`, keyed
//! `(user_id, device_id)`, and the last notification per user and conversation in
//! `push_ledger`, keyed `(user_id, conversation_id)`.
//!
//! A user keeps at most [`MAX_DEVICES_PER_USER`] devices, as on DynamoDB (where they live on the
//! user's item, whose size every write of that item pays for): registering one more is a
//! `Conflict`, replacing a registered one is always allowed. `push_targets` reads a page of
//! users' devices with their `users.push_previews` in one statement; a user without a `users`
//! row has never turned previews off.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chat_domain::{ChatError, ConversationId, DeviceId, Millis, Seq, UserId};
use chat_ports::{DeviceStore, Platform, PortResult, PushEndpoint, PushLedger, PushTarget};
use rusqlite::{Row, params};

use crate::SqliteStore;
use crate::rows::{corrupt, db, flag, int};

/// The most devices one user may have registered for push (the DynamoDB store's bound too).
pub(crate) const MAX_DEVICES_PER_USER: usize = 10;

fn parse_platform(raw: &str) -> Result<Platform, ChatError> {
    Platform::parse(raw).ok_or_else(|| {
        ChatError::internal(
            "corrupt value in column platform",
            format!("unknown platform {raw:?}"),
        )
    })
}

/// One `devices` row (`user_id, device_id, platform, address`), unparsed.
struct DeviceRow {
    user_id: String,
    device_id: String,
    platform: String,
    address: String,
}

impl DeviceRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<DeviceRow> {
        Ok(DeviceRow {
            user_id: row.get(0)?,
            device_id: row.get(1)?,
            platform: row.get(2)?,
            address: row.get(3)?,
        })
    }

    fn into_endpoint(self) -> Result<PushEndpoint, ChatError> {
        Ok(PushEndpoint {
            user_id: UserId::parse(&self.user_id).map_err(corrupt("user_id"))?,
            device_id: DeviceId::parse(&self.device_id).map_err(corrupt("device_id"))?,
            platform: parse_platform(&self.platform)?,
            address: self.address,
        })
    }
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn put_device(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let e = endpoint.clone();
        let (push_users, user_id) = (self.push_users.clone(), endpoint.user_id.to_string());
        self.writer
            .run_then(
                move |conn| {
                    let (user, device) = (e.user_id.as_str(), e.device_id.as_str());
                    let others: i64 = conn
                        .prepare_cached(
                            "SELECT COUNT(*) FROM devices WHERE user_id = ?1 AND device_id <> ?2",
                        )
                        .and_then(|mut stmt| {
                            stmt.query_row(params![user, device], |row| row.get(0))
                        })
                        .map_err(db("put_device: counting devices"))?;
                    if usize::try_from(others).unwrap_or(usize::MAX) >= MAX_DEVICES_PER_USER {
                        return Err(too_many_devices(&e.user_id));
                    }
                    conn.prepare_cached(
                        "INSERT OR REPLACE INTO devices (user_id, device_id, platform, address)
                     VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            user,
                            device,
                            Platform::as_str(e.platform),
                            e.address
                        ])
                    })
                    .map_err(db("put_device"))?;
                    Ok(())
                },
                move |_: &()| push_users.add(&user_id),
            )
            .await
    }

    async fn remove_device(&self, user: &UserId, device: &DeviceId) -> PortResult<bool> {
        let (user, device) = (user.to_string(), device.to_string());
        let (push_users, user_id) = (self.push_users.clone(), user.clone());
        let (removed, _) = self
            .writer
            .run_then(
                move |conn| {
                    let removed = conn
                        .prepare_cached("DELETE FROM devices WHERE user_id = ?1 AND device_id = ?2")
                        .and_then(|mut stmt| stmt.execute(params![user, device]))
                        .map_err(db("remove_device"))?;
                    let left: i64 = conn
                        .prepare_cached("SELECT COUNT(*) FROM devices WHERE user_id = ?1")
                        .and_then(|mut stmt| stmt.query_row([&user], |row| row.get(0)))
                        .map_err(db("remove_device: counting what is left"))?;
                    Ok((removed > 0, left))
                },
                move |&(_, left)| {
                    if left == 0 {
                        push_users.remove(&user_id);
                    }
                },
            )
            .await?;
        Ok(removed)
    }

    async fn devices_of(&self, user: &UserId) -> PortResult<Vec<PushEndpoint>> {
        let user = user.to_string();
        self.readers
            .run(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT user_id, device_id, platform, address FROM devices
                         WHERE user_id = ?1 ORDER BY device_id",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map([&user], DeviceRow::read)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(db("devices_of"))?;
                rows.into_iter().map(DeviceRow::into_endpoint).collect()
            })
            .await
    }

    async fn push_targets(&self, users: &[UserId]) -> PortResult<Vec<PushTarget>> {
        // Most recipients have no device: those need no read at all.
        let users = self.push_users.with_devices(users);
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<rusqlite::types::Value> = users
            .iter()
            .map(|u| rusqlite::types::Value::Text(u.to_string()))
            .collect();
        self.readers
            .run(move |conn| {
                // One statement for the page (SQLite's 32,766 bound parameters are far above
                // a page's 100).
                let marks = vec!["?"; ids.len()].join(", ");
                let sql = format!(
                    "SELECT d.user_id, d.device_id, d.platform, d.address,
                            COALESCE(u.push_previews, 1)
                     FROM devices d LEFT JOIN users u ON u.user_id = d.user_id
                     WHERE d.user_id IN ({marks})
                     ORDER BY d.user_id, d.device_id"
                );
                let rows = conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_map(rusqlite::params_from_iter(ids), |row| {
                            Ok((DeviceRow::read(row)?, row.get::<_, i64>(4)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(db("push_targets"))?;
                let mut targets: BTreeMap<UserId, PushTarget> = BTreeMap::new();
                for (row, previews) in rows {
                    let endpoint = row.into_endpoint()?;
                    targets
                        .entry(endpoint.user_id.clone())
                        .or_insert_with(|| PushTarget {
                            user_id: endpoint.user_id.clone(),
                            previews: flag(previews),
                            endpoints: Vec::new(),
                        })
                        .endpoints
                        .push(endpoint);
                }
                Ok(targets.into_values().collect())
            })
            .await
    }
}

/// What registering one device too many answers.
pub(crate) fn too_many_devices(user: &UserId) -> ChatError {
    ChatError::conflict(format!(
        "{user} has {MAX_DEVICES_PER_USER} devices registered for push already; \
         unregister one first"
    ))
}

#[async_trait]
impl PushLedger for SqliteStore {
    async fn claim_push(
        &self,
        user: &UserId,
        conversation: &ConversationId,
        seq: Seq,
        now: Millis,
        quiet_ms: i64,
    ) -> PortResult<bool> {
        let (user, conversation) = (user.to_string(), conversation.to_string());
        let seq = int(seq.get())?;
        let (at, cutoff) = (now.as_i64(), now.as_i64().saturating_sub(quiet_ms));
        self.writer
            .run(move |conn| {
                // The upsert's WHERE is the claim: a row it leaves alone is a claim refused
                // (no row changed).
                let claimed = conn
                    .prepare_cached(
                        "INSERT INTO push_ledger (user_id, conversation_id, seq, at)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (user_id, conversation_id) DO UPDATE
                             SET seq = excluded.seq, at = excluded.at
                             WHERE push_ledger.seq < excluded.seq AND push_ledger.at <= ?5",
                    )
                    .and_then(|mut stmt| stmt.execute(params![user, conversation, seq, at, cutoff]))
                    .map_err(db("claim_push"))?;
                Ok(claimed > 0)
            })
            .await
    }
}
