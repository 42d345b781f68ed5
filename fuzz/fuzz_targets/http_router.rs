//! The HTTP API handler (`chat_handlers::HttpApiHandler`), whose router maps method and path
//! to a resource and then parses path segments, query and JSON body: fed the payload-format-2.0
//! event API Gateway sends after its JWT authorizer, read by `lambda_http` as the Lambda runtime
//! reads it, over the seeded embedded store.
//!
//! Properties: nothing panics; no request is answered 5xx; every error answer is the
//! protocol's JSON error body under the status its code stands for (405 aside); every JSON
//! answer is JSON; every frame pushed meanwhile (a "delete for me" tells the caller's devices)
//! is well-formed.
//!
//! The input reads like an HTTP request: a first line `METHOD TARGET [USER]` (the target a
//! path with an optional `?query`, the user the token's `sub`, [`chat_fuzz::ME`] when
//! absent), then the body's bytes after the first newline. `{grp}` in the line stands for
//! the seeded group's id. A method or target no HTTP front end would pass on is skipped.

#![no_main]

use chat_fuzz::{HttpRequest, ME, World, block_on};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (line, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    let world = World::get();
    let line = world.expand(line);
    let mut words = line.split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return;
    };
    let user = words.next().filter(|u| !u.is_empty()).unwrap_or(ME);
    // What API Gateway can receive at all: a method token and an origin-form request target.
    if http::Method::from_bytes(method.as_bytes()).is_err() {
        return;
    }
    let Ok(uri) = target.parse::<http::Uri>() else {
        return;
    };
    if uri.scheme().is_some() || !target.starts_with('/') {
        return;
    }
    let request = HttpRequest {
        method,
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        body,
        user,
    };
    let response = block_on(world.http.handle(request.to_lambda()));
    chat_fuzz::trace(format_args!(
        "{method} {target} {user} -> {} {}",
        response.status(),
        String::from_utf8_lossy(response.body().as_ref())
    ));
    chat_fuzz::check_http_response(&response);
});
