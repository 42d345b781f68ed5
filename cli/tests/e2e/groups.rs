//! `groups create / add / remove / show`: each change is what `GET /v1/conversations/{id}`
//! then says about the group.

use serde_json::Value;

use crate::harness::Cli;

/// The group's current members, as the server lists them.
async fn members(cli: &Cli, group: &str) -> Vec<(String, String)> {
    let (status, details) = cli
        .server
        .http_as("alice")
        .await
        .get(&format!("/v1/conversations/{group}"))
        .await;
    assert_eq!(status, 200, "{details}");
    details["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m: &Value| {
            (
                m["user_id"].as_str().expect("user").to_string(),
                m["role"].as_str().expect("role").to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, r)| (u.to_string(), r.to_string()))
        .collect()
}

#[tokio::test]
async fn group_changes_made_with_the_cli_are_what_the_server_shows() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    cli.login("bob").await;

    let created = cli
        .run(
            "alice",
            &[
                "--json",
                "groups",
                "create",
                "Hiking",
                "--members",
                "bob,carol",
            ],
        )
        .await
        .ok()
        .json();
    let group = created["conversation_id"].as_str().expect("id").to_string();
    assert!(group.starts_with("grp:"), "{created}");
    assert_eq!(created["name"], "Hiking");
    assert_eq!(
        members(&cli, &group).await,
        pairs(&[("alice", "owner"), ("bob", "member"), ("carol", "member")])
    );

    // The id works without its `grp:` too; an existing member is reported, not added twice.
    let bare = group.trim_start_matches("grp:");
    let added = cli
        .run("alice", &["--json", "groups", "add", bare, "dave", "bob"])
        .await
        .ok()
        .json();
    assert_eq!(added["added"], serde_json::json!(["dave"]));
    assert_eq!(added["already_members"], serde_json::json!(["bob"]));
    assert_eq!(added["member_count"], 4);

    let removed = cli
        .run("alice", &["groups", "remove", &group, "carol", "dave"])
        .await
        .ok();
    assert_eq!(
        removed.stdout,
        format!("{group}: removed carol\n{group}: removed dave\n")
    );
    assert_eq!(
        members(&cli, &group).await,
        pairs(&[("alice", "owner"), ("bob", "member")])
    );

    // Only admins add: bob is refused, with the exit code of "forbidden".
    let refused = cli.run("bob", &["groups", "add", &group, "erin"]).await;
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(refused.stderr.starts_with("chat: groups: "), "{refused:?}");

    let shown = cli
        .run("bob", &["--json", "groups", "show", &group])
        .await
        .ok()
        .json_lines();
    assert_eq!(shown[0]["member_count"], 2);
    assert_eq!(shown[0]["role"], "member");
    let listed: Vec<&str> = shown[1..]
        .iter()
        .map(|m| m["user_id"].as_str().expect("user"))
        .collect();
    assert_eq!(listed, vec!["alice", "bob"]);
}
