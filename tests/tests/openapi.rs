//! `GET /v1/openapi.yaml` serves `docs/openapi.yaml` without a token, and the document names
//! exactly the routes of the HTTP API's route table (`shared/handlers/src/http/mod.rs`), each
//! with the methods the table dispatches, and every path answers other methods `405` with
//! those in `Allow`: the spec and the router cannot drift apart. (What each operation answers
//! is `scripts/api-fuzz`'s job.)

use std::collections::{BTreeMap, BTreeSet};

use chat_tests::TestServer;
use serde_norway::Value;

/// The handler's route table, read as source.
const ROUTER: &str = include_str!("../../shared/handlers/src/http/mod.rs");

/// The document as the tree has it.
const SPEC: &str = include_str!("../../docs/openapi.yaml");

/// Path shape (every path parameter written `{}`) → methods, upper case.
type Routes = BTreeMap<String, BTreeSet<String>>;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "options", "head", "trace",
];

/// The first identifier in `text` after `Route::`.
fn variant_after(text: &str) -> &str {
    let start = text.find("Route::").expect("a pattern's arm names a Route") + "Route::".len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The routes of `mod.rs`: its path patterns (`(_, ["v1", "conversations", id]) =>
/// Route::Conversation(id)`) joined with its dispatch (`("GET", Route::Conversation(id)) =>`).
fn routes_of_the_table() -> Routes {
    let mut shapes: BTreeMap<&str, String> = BTreeMap::new();
    let mut rest = ROUTER;
    while let Some(start) = rest.find("(_, [") {
        let after = &rest[start + "(_, [".len()..];
        let end = after.find("])").expect("a path pattern ends with `])`");
        let path: Vec<String> = after[..end]
            .split(',')
            .map(str::trim)
            .map(|segment| match segment.strip_prefix('"') {
                Some(literal) => literal.trim_end_matches('"').to_string(),
                None => "{}".to_string(),
            })
            .collect();
        let variant = variant_after(&after[end..]);
        let shape = format!("/{}", path.join("/"));
        assert!(
            shapes.insert(variant, shape.clone()).is_none(),
            "Route::{variant} has two path patterns"
        );
        rest = &after[end..];
    }
    assert!(
        shapes.len() >= 15,
        "found only {} path patterns in mod.rs: {shapes:?}",
        shapes.len()
    );

    let mut routes = Routes::new();
    let mut rest = ROUTER;
    while let Some(start) = rest.find("(\"") {
        let after = &rest[start + 2..];
        rest = after;
        let Some((method, tail)) = after.split_once('"') else {
            break;
        };
        if tail.starts_with(", Route::") && method.chars().all(|c| c.is_ascii_uppercase()) {
            let variant = variant_after(tail);
            let shape = shapes
                .get(variant)
                .unwrap_or_else(|| panic!("{method} Route::{variant} has no path pattern"));
            routes
                .entry(shape.clone())
                .or_default()
                .insert(method.to_string());
        }
    }
    assert_eq!(
        routes.len(),
        shapes.len(),
        "a path pattern that no method is dispatched to: {shapes:?} vs {routes:?}"
    );
    routes
}

/// `/v1/conversations/{conversation_id}` → `/v1/conversations/{}`.
fn shape_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn routes_of_the_spec(spec: &Value) -> Routes {
    let paths = spec["paths"].as_mapping().expect("the spec has `paths`");
    paths
        .iter()
        .map(|(path, item)| {
            let path = path.as_str().expect("a path is a string");
            let methods = item
                .as_mapping()
                .expect("a path item is a mapping")
                .keys()
                .filter_map(Value::as_str)
                .filter(|key| METHODS.contains(key))
                .map(str::to_ascii_uppercase)
                .collect();
            (shape_of(path), methods)
        })
        .collect()
}

#[tokio::test]
async fn the_spec_is_served_without_a_token_and_names_every_route_of_the_table() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.http_url("/v1/openapi.yaml"))
        .await
        .expect("GET /v1/openapi.yaml");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "application/yaml"
    );
    let text = response.text().await.expect("the document");
    assert_eq!(text, SPEC, "chat-local serves docs/openapi.yaml as it is");

    let spec: Value = serde_norway::from_str(&text).expect("the document is YAML");
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"].as_str(),
        Some("bearer")
    );
    assert!(
        spec["security"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty()),
        "the bearer token is required globally"
    );
    assert_eq!(
        spec["paths"]["/v1/openapi.yaml"]["get"]["security"].as_sequence(),
        Some(&Vec::new()),
        "the document itself needs no token"
    );

    let table = routes_of_the_table();
    let mut documented = routes_of_the_spec(&spec);
    assert_eq!(
        documented.remove("/v1/openapi.yaml"),
        Some(BTreeSet::from(["GET".to_string()]))
    );
    let missing: Vec<_> = table
        .iter()
        .filter(|(path, methods)| documented.get(*path) != Some(methods))
        .collect();
    let extra: Vec<_> = documented
        .iter()
        .filter(|(path, methods)| table.get(*path) != Some(methods))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/openapi.yaml and the route table of shared/handlers/src/http/mod.rs differ:\n  \
         routed but not documented (as such): {missing:?}\n  \
         documented but not routed (as such): {extra:?}"
    );
}

#[tokio::test]
async fn every_documented_path_answers_another_method_405_with_its_methods_in_allow() {
    let server = TestServer::start().await;
    let token = server.token("alice").await;
    let http = reqwest::Client::new();
    let spec: Value = serde_norway::from_str(SPEC).expect("the document is YAML");
    for (shape, methods) in routes_of_the_spec(&spec) {
        if shape == "/v1/openapi.yaml" {
            continue;
        }
        // Methods are dispatched before anything in the path is read.
        let path = shape.replace("{}", "x");
        let response = http
            .request(reqwest::Method::OPTIONS, server.http_url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("OPTIONS");
        assert_eq!(response.status(), 405, "OPTIONS {path}");
        let allow: BTreeSet<String> = response.headers()[reqwest::header::ALLOW]
            .to_str()
            .expect("an ASCII Allow")
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        assert_eq!(allow, methods, "Allow of {path}");
        let body: serde_json::Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["error"]["code"], "bad_request", "{path}: {body}");
    }
}
