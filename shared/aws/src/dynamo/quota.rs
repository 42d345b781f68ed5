//! `SendQuota` shared by every container: each user's sends counted per window on their user
//! item, so that a user whose frames API Gateway spreads over many Lambda containers still
//! gets one allowance, not one per container.
//!
//! The allowance is `burst` sends per window of `burst / per_second` seconds (a fixed window:
//! across a window's edge a user may send up to twice the burst; over any longer stretch the
//! rate holds). Counting every send would cost a write per message, so a container asks the
//! table only when a user sends more than a few messages in one window:
//!
//! - the first [`free_per_window`] sends of a user in a window, in this container, are granted
//!   from memory: a person sending a message now and then never costs a write;
//! - beyond them the container leases sends from the user's window count (`ADD` on condition
//!   that the count stays within the burst), first one, then twice as many each time up to a
//!   tenth of the burst, so that a user served by one container costs a write per ten sends
//!   and a user spread over many containers is not held back by tokens leased elsewhere;
//! - a refused lease marks the user spent in this container until the window ends, so an
//!   abuser costs no more writes than a well-behaved heavy sender.
//!
//! The bound across N containers is therefore `burst + N × free_per_window` sends a window.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chat_domain::{Millis, SendRate, Take, UserId};
use chat_ports::{PortResult, SendQuota};

use super::DynamoStore;
use super::codec::{is_condition_failed, n};
use super::users;
use crate::errors::internal;

/// The user item's window start (ms since the epoch, a multiple of the window).
const WINDOW: &str = "send_window";
/// Sends leased out of that window so far, over every container.
const COUNT: &str = "send_count";

/// Sends of a window a container grants without asking: about 5% of the burst.
fn free_per_window(rate: SendRate) -> u32 {
    (rate.burst() / 20).max(1)
}

/// The largest lease: a tenth of the burst.
fn max_lease(rate: SendRate) -> u32 {
    (rate.burst() / 10).max(1)
}

/// What this container knows of one user's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: i64,
    /// Granted from memory so far.
    free_used: u32,
    /// Leased and not yet used.
    leased_left: u32,
    /// The next lease asks for this many.
    next_lease: u32,
    /// The table refused a lease: nothing more this window.
    spent: bool,
}

/// Every user's window in this container.
#[derive(Debug, Default)]
pub(crate) struct SendLeases(Mutex<HashMap<UserId, Window>>);

/// Past this many users, the windows already over are forgotten.
const WINDOWS_KEPT: usize = 100_000;

/// What the memory alone can answer.
enum Local {
    Answer(Take),
    /// Lease this many from the table for the window starting at `start`.
    Lease {
        start: i64,
        count: u32,
    },
}

impl SendLeases {
    fn take_local(&self, rate: SendRate, user: &UserId, now: Millis) -> Local {
        let window_ms = rate.window_ms();
        let start = now.as_i64().div_euclid(window_ms) * window_ms;
        let mut windows = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= WINDOWS_KEPT && !windows.contains_key(user) {
            windows.retain(|_, w| w.start >= start);
        }
        let window = windows.entry(user.clone()).or_insert(Window {
            start,
            free_used: 0,
            leased_left: 0,
            next_lease: 1,
            spent: false,
        });
        if window.start != start {
            *window = Window {
                start,
                free_used: 0,
                leased_left: 0,
                next_lease: 1,
                spent: false,
            };
        }
        if window.free_used < free_per_window(rate) {
            window.free_used += 1;
            return Local::Answer(Take::Granted);
        }
        if window.leased_left > 0 {
            window.leased_left -= 1;
            return Local::Answer(Take::Granted);
        }
        if window.spent {
            return Local::Answer(Take::Refused {
                retry_after_ms: (start + window_ms - now.as_i64()).max(1),
            });
        }
        let count = window.next_lease;
        window.next_lease = (count * 2).min(max_lease(rate));
        Local::Lease { start, count }
    }

    /// Records what the table answered to a lease of `count` for the window at `start`.
    fn leased(&self, user: &UserId, start: i64, count: u32, granted: bool) {
        let mut windows = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(window) = windows.get_mut(user).filter(|w| w.start == start) {
            if granted {
                // One of the leased sends is the one being answered now.
                window.leased_left += count - 1;
            } else {
                window.spent = true;
            }
        }
    }
}

impl DynamoStore {
    /// Adds `count` to the user's count for the window at `start`, if it stays within the
    /// burst: one `UpdateItem` when the item counts this window already, else a second that
    /// starts it, and should another container start it first, the first once more.
    async fn lease_sends(
        &self,
        rate: SendRate,
        user: &UserId,
        start: i64,
        count: u32,
    ) -> PortResult<bool> {
        if i64::from(count) > i64::from(rate.burst()) {
            return Ok(false);
        }
        if self.add_to_window(rate, user, start, count).await? {
            return Ok(true);
        }
        if self.start_window(user, start, count).await? {
            return Ok(true);
        }
        // The window is current now (started by another container meanwhile, or earlier):
        // only its count can say whether there is room.
        self.add_to_window(rate, user, start, count).await
    }

    /// `ADD count` if the item counts the window at `start` and stays within the burst.
    async fn add_to_window(
        &self,
        rate: SendRate,
        user: &UserId,
        start: i64,
        count: u32,
    ) -> PortResult<bool> {
        let within = i64::from(rate.burst()) - i64::from(count);
        let update = WindowUpdate {
            expression: "ADD #count :count",
            condition: "#window = :start AND #count <= :within",
            within: Some(within),
            context: "send quota: leasing sends",
        };
        self.update_window(user, start, count, update).await
    }

    /// Starts the window at `start` with `count`, if the item counts an older one (or none).
    async fn start_window(&self, user: &UserId, start: i64, count: u32) -> PortResult<bool> {
        let update = WindowUpdate {
            expression: "SET #window = :start, #count = :count",
            condition: "attribute_not_exists(#window) OR #window < :start",
            within: None,
            context: "send quota: starting a window",
        };
        self.update_window(user, start, count, update).await
    }

    /// One conditional `UpdateItem` of the user's window: `false` when its condition failed.
    async fn update_window(
        &self,
        user: &UserId,
        start: i64,
        count: u32,
        update: WindowUpdate,
    ) -> PortResult<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .expression_attribute_names("#window", WINDOW)
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_values(":start", n(start))
            .expression_attribute_values(":count", n(count))
            .return_values(ReturnValue::None);
        if let Some(within) = update.within {
            request = request.expression_attribute_values(":within", n(within));
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal(update.context, err)),
        }
    }
}

/// What one window update writes, on which condition, and what its failure is called.
struct WindowUpdate {
    expression: &'static str,
    condition: &'static str,
    /// `:within`, for a condition that names it.
    within: Option<i64>,
    context: &'static str,
}

#[async_trait]
impl SendQuota for DynamoStore {
    async fn take_send(&self, user: &UserId, now: Millis) -> PortResult<Take> {
        let Some(rate) = self.send_rate else {
            return Ok(Take::Granted);
        };
        if let Local::Answer(take) = self.send_leases.take_local(rate, user, now) {
            return Ok(take);
        }
        // One lease of this user's at a time here: sends racing in this process would each
        // lease, together more than the window holds, and the last would be refused while
        // the others' leftovers sit unused. Behind the lane, a lease that just finished may
        // have left enough.
        let _lane = self.lease_lanes.enter_key(user).await;
        let (start, count) = match self.send_leases.take_local(rate, user, now) {
            Local::Answer(take) => return Ok(take),
            Local::Lease { start, count } => (start, count),
        };
        let mut granted = self.lease_sends(rate, user, start, count).await?;
        // Fewer than a whole lease may be left: the last of the window goes one at a time.
        let mut leased = count;
        if !granted && count > 1 {
            granted = self.lease_sends(rate, user, start, 1).await?;
            leased = 1;
        }
        self.send_leases.leased(user, start, leased, granted);
        if granted {
            return Ok(Take::Granted);
        }
        Ok(Take::Refused {
            retry_after_ms: (start + rate.window_ms() - now.as_i64()).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate() -> SendRate {
        SendRate::new(10, 100).expect("a limit")
    }

    fn alice() -> UserId {
        UserId::parse("alice").expect("user id")
    }

    #[test]
    fn a_few_sends_a_window_never_ask_the_table() {
        let leases = SendLeases::default();
        for _ in 0..free_per_window(rate()) {
            assert!(matches!(
                leases.take_local(rate(), &alice(), Millis(10_500)),
                Local::Answer(Take::Granted)
            ));
        }
        // The next asks for one, then two, four, … up to a tenth of the burst.
        let mut counts = Vec::new();
        for _ in 0..6 {
            match leases.take_local(rate(), &alice(), Millis(10_500)) {
                Local::Lease { start, count } => {
                    assert_eq!(start, 10_000);
                    leases.leased(&alice(), start, count, true);
                    counts.push(count);
                    // Use up the lease but for the send it answered.
                    for _ in 1..count {
                        assert!(matches!(
                            leases.take_local(rate(), &alice(), Millis(10_500)),
                            Local::Answer(Take::Granted)
                        ));
                    }
                }
                Local::Answer(_) => panic!("expected a lease"),
            }
        }
        assert_eq!(counts, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn a_refused_lease_refuses_until_the_window_ends() {
        let leases = SendLeases::default();
        for _ in 0..free_per_window(rate()) {
            leases.take_local(rate(), &alice(), Millis(0));
        }
        let Local::Lease { start, count } = leases.take_local(rate(), &alice(), Millis(0)) else {
            panic!("expected a lease");
        };
        leases.leased(&alice(), start, count, false);
        assert!(matches!(
            leases.take_local(rate(), &alice(), Millis(4_000)),
            Local::Answer(Take::Refused {
                retry_after_ms: 6_000
            })
        ));
        // The next window starts over.
        assert!(matches!(
            leases.take_local(rate(), &alice(), Millis(10_000)),
            Local::Answer(Take::Granted)
        ));
    }
}
