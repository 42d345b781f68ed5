//! Exit codes say what failed (`chat --help` lists them): 2 usage, 3 not logged in or
//! unauthorized, 4 not found / forbidden, 5 refused, 6 network; and errors are one line on
//! stderr, a JSON object with `--json`.

use crate::harness::Cli;

#[tokio::test]
async fn usage_errors_exit_2() {
    let cli = Cli::start().await;
    for args in [
        vec!["send", "hi"],
        vec!["send", "--to", "bob", "--conversation", "dm:a:b", "hi"],
        vec!["send", "--to", "not:a:user", "hi"],
        vec!["history", "--conversation", "dm:bob:alice"],
        vec!["frobnicate"],
    ] {
        let run = cli.run("alice", &args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    let help = cli.run("alice", &["--help"]).await.ok();
    assert!(help.stdout.contains("Exit codes:"), "{help:?}");
    assert!(help.stdout.contains("6  network"), "{help:?}");
}

#[tokio::test]
async fn not_logged_in_or_a_refused_token_exits_3() {
    let cli = Cli::start().await;
    let run = cli.run("nobody", &["send", "--to", "bob", "hi"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "chat: send: profile \"nobody\" is not logged in (run `chat login`)"
    );
    let run = cli
        .run("nobody", &["--json", "history", "--conversation", "dm:a:b"])
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    let error = run.json_error();
    assert_eq!(error["code"], "not_logged_in");
    assert_eq!(error["exit"], 3);

    let url = cli.url();
    let bad = cli
        .run("forged", &["login", "--url", &url, "--token", "not.a.jwt"])
        .await;
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(bad.stderr.contains("unauthorized"), "{bad:?}");
}

#[tokio::test]
async fn a_conversation_i_am_not_in_exits_4_and_a_refused_send_5() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    let group = cli.server.create_group("bob", "Private", &["carol"]).await;
    let run = cli
        .run("alice", &["--json", "history", "--conversation", &group])
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json_error()["code"], "forbidden");
    // A group that does not exist answers the same: nobody learns whether it exists.
    let run = cli
        .run(
            "alice",
            &["send", "--conversation", "grp:01nosuchgroup", "hi"],
        )
        .await;
    assert_eq!(run.code, 4, "{run:?}");

    let long = "x".repeat(5000);
    let run = cli
        .run("alice", &["--json", "send", "--to", "bob", &long])
        .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(run.json_error()["code"], "too_large");
    let run = cli.run("alice", &["send", "--to", "alice", "me"]).await;
    assert_eq!(run.code, 5, "{run:?}");
}

#[tokio::test]
async fn an_unreachable_server_exits_6() {
    let cli = Cli::start().await;
    // A port nobody listens on: bound, then let go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let run = cli
        .run("alice", &["login", "--url", &url, "--user", "alice"])
        .await;
    assert_eq!(run.code, 6, "{run:?}");

    // A profile whose server went away after the login.
    cli.login("alice").await;
    let gone = Cli::start().await;
    let gone_url = gone.url();
    cli.run("gone", &["login", "--url", &gone_url, "--user", "alice"])
        .await
        .ok();
    drop(gone);
    let run = cli
        .run("gone", &["--json", "send", "--to", "bob", "hi"])
        .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(run.json_error()["code"], "network");
    let run = cli.run("gone", &["conversations"]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.starts_with("chat: conversations: "), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
}
