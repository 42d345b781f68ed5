//! Whose device an SNS endpoint is: `register` writes `{user}/{device}` into the endpoint's
//! `CustomUserData`, and reads it back the next time the same token registers, to tell the
//! caller whose registration of that endpoint to forget. Part of the SNS adapter; SNS itself
//! never reads the attribute.

use chat_domain::{DeviceId, UserId};

/// What `register` writes into `CustomUserData`: whose device the endpoint is, for the next
/// `register` of the same token (and people reading the SNS console; SNS never reads it).
pub(super) fn custom_user_data(user: &UserId, device: &DeviceId) -> String {
    format!("{user}/{device}")
}

/// The (user, device) a [`custom_user_data`] names; `None` for anything else. Neither id may
/// contain `/`, so the first one is the separator.
fn parse_custom_user_data(raw: &str) -> Option<(UserId, DeviceId)> {
    let (user, device) = raw.split_once('/')?;
    Some((UserId::parse(user).ok()?, DeviceId::parse(device).ok()?))
}

/// Whose the endpoint was by its `CustomUserData` before `register`, when that is someone else
/// than `user` on `device`.
pub(super) fn previous_owner(
    user_data: Option<&str>,
    user: &UserId,
    device: &DeviceId,
) -> Option<(UserId, DeviceId)> {
    let owner = parse_custom_user_data(user_data?)?;
    (owner.0 != *user || owner.1 != *device).then_some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_owner_is_another_user_or_device_named_in_custom_user_data() {
        let (alice, phone) = (
            UserId::parse("alice").expect("id"),
            DeviceId::parse("phone").expect("id"),
        );
        let bob = UserId::parse("bob").expect("id");
        let tablet = DeviceId::parse("tablet").expect("id");
        assert_eq!(
            previous_owner(Some("bob/phone"), &alice, &phone),
            Some((bob.clone(), phone.clone()))
        );
        assert_eq!(
            previous_owner(Some("alice/tablet"), &alice, &phone),
            Some((alice.clone(), tablet))
        );
        // Ourselves already, or a new endpoint without our note: nobody to forget.
        assert_eq!(previous_owner(Some("alice/phone"), &alice, &phone), None);
        assert_eq!(previous_owner(None, &alice, &phone), None);
        // What `custom_user_data` writes parses back.
        assert_eq!(
            parse_custom_user_data(&custom_user_data(&bob, &phone)),
            Some((bob, phone))
        );
    }

    #[test]
    fn custom_user_data_we_did_not_write_names_nobody() {
        for raw in [
            "",
            "alice",
            "/phone",
            "alice/",
            "al ice/phone",
            "alice/ph#one",
            "a/b/c",
            "{\"u\":1}",
        ] {
            assert_eq!(parse_custom_user_data(raw), None, "{raw:?}");
        }
    }
}
