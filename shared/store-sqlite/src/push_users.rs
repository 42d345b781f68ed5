//! Which users have a device registered for push, held in memory so that the stream
//! consumer's question on every message ("which of these recipients could get a push?") needs
//! no read when the answer is nobody, which it is for most messages. Measured: that read was
//! 6–8% of chat-local's CPU at 10,000 msg/s (`docs/performance.md`, "The per-message path").
//!
//! Loaded from `devices` when the store opens, then kept by the writes that change `devices`
//! ([`crate::devices`]), each in the writer's commit hook: hooks run on the writer thread in
//! commit order, so the set follows the table through any interleaving of registrations and
//! removals. Like the change feed, it knows only the writes made through this store: the
//! file's one writer.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};

use chat_domain::{ChatError, UserId};
use rusqlite::Connection;

use crate::rows::db;

#[derive(Debug, Default)]
pub(crate) struct PushUsers {
    users: RwLock<HashSet<String>>,
}

impl PushUsers {
    /// The users with a device in `devices` now.
    pub(crate) fn load(conn: &Connection) -> Result<PushUsers, ChatError> {
        let users = conn
            .prepare("SELECT DISTINCT user_id FROM devices")
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get::<_, String>(0))?
                    .collect::<rusqlite::Result<HashSet<String>>>()
            })
            .map_err(db("loading the users with push devices"))?;
        Ok(PushUsers {
            users: RwLock::new(users),
        })
    }

    /// `user` has a device (just registered).
    pub(crate) fn add(&self, user: &str) {
        self.write().insert(user.to_string());
    }

    /// `user` has no device left.
    pub(crate) fn remove(&self, user: &str) {
        self.write().remove(user);
    }

    /// Those of `users` who have a device, in their order.
    pub(crate) fn with_devices(&self, users: &[UserId]) -> Vec<UserId> {
        // A poisoned lock only means a writer panicked between two set operations, each of
        // which leaves the set whole.
        let known = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users
            .iter()
            .filter(|u| known.contains(u.as_str()))
            .cloned()
            .collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashSet<String>> {
        self.users.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserId {
        UserId::parse(id).expect("user id")
    }

    #[test]
    fn loads_the_users_that_have_devices_and_follows_changes() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(
            "CREATE TABLE devices (user_id TEXT, device_id TEXT);
             INSERT INTO devices VALUES ('alice', 'phone'), ('alice', 'tablet'), ('bob', 'phone');",
        )
        .expect("schema");
        let cache = PushUsers::load(&conn).expect("load");
        let asked = [user("carol"), user("bob"), user("alice")];
        assert_eq!(cache.with_devices(&asked), vec![user("bob"), user("alice")]);
        cache.remove("bob");
        cache.add("carol");
        assert_eq!(
            cache.with_devices(&asked),
            vec![user("carol"), user("alice")]
        );
    }
}
