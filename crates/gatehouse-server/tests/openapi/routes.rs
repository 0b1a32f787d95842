//! Every route the router serves is described in `/openapi.json`, and
//! every operation described is served.
//!
//! How the routes are found: axum cannot list a router's routes, so this
//! test reads them where they are declared. Every route is added by a
//! `.route("<path>", <method router>)` call in a file under `src/routes/`
//! (CONVENTIONS.md: each route module's `router()`, merged once in
//! `routes/mod.rs`). The files are tokenised (comments dropped, strings
//! kept whole, so a description or a doc comment that mentions a route is
//! not one), and the methods of each route are the calls at the top level
//! of its method router: `get(a).post(b)` is GET and POST, `any(h)` is
//! every method in [`ANY`]. What this reading could miss fails the test
//! instead of going unseen: a `.nest`, `.route_service` or
//! `.fallback_service`, or a method router it cannot read (built
//! elsewhere and passed by name).
//!
//! The reading is then checked against the real router: each route found
//! is requested on a running server and must not fall through to the
//! router's own 404 ("there is no such route") or 405 (that method is not
//! routed), so a misread route, or a `.route(` in a router that is never
//! merged, shows too.
//!
//! A GET route also answers HEAD (axum does that), so a described HEAD
//! needs only the GET; an undescribed one is not missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::server;

/// The methods `any(…)` stands for in the description (forward auth).
const ANY: &[&str] = &["get", "post", "put", "patch", "delete", "options", "head"];

/// axum's method routers, by the function that makes one.
const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect", "any",
];

/// Routes merged only when the configuration asks for them, so the probe
/// server (default configuration) does not serve them: `/metrics` on the
/// API listener needs `metrics_token`.
const CONFIGURED_ONLY: &[(&str, &str)] = &[("get", "/metrics")];

/// (method, OpenAPI path) → the file that declares it.
type Routes = BTreeMap<(String, String), String>;

#[test]
fn every_route_is_described_and_every_description_is_served() {
    let served = served_routes();
    let described = described_operations();
    let mut problems = Vec::new();
    for ((method, path), file) in &served {
        match described.get(&(method.clone(), path.clone())) {
            None => problems.push(format!(
                "{} {path} (declared in {file}) is not in the OpenAPI description: \
                 add a #[utoipa::path] to its handler and list it in src/openapi/mod.rs",
                method.to_uppercase()
            )),
            Some(op) if !has_text(op, "summary") && !has_text(op, "description") => {
                problems.push(format!(
                    "{} {path} is described without a summary or description",
                    method.to_uppercase()
                ))
            }
            Some(_) => {}
        }
    }
    for (method, path) in described.keys() {
        let key = (method.clone(), path.clone());
        let head_of_get = method == "head" && served.contains_key(&("get".into(), path.clone()));
        if !served.contains_key(&key) && !head_of_get {
            problems.push(format!(
                "{} {path} is described but no route serves it",
                method.to_uppercase()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the router and /openapi.json disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_operation_is_well_formed() {
    let doc = document();
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for ((method, path), op) in described_operations() {
        let name = format!("{} {path}", method.to_uppercase());
        match op["operationId"].as_str() {
            None => problems.push(format!("{name} has no operationId")),
            Some(id) if !ids.insert(id.to_string()) => {
                problems.push(format!("{name}: operationId `{id}` is used twice"))
            }
            Some(_) => {}
        }
        if op["tags"].as_array().is_none_or(|t| t.is_empty()) {
            problems.push(format!("{name} has no tag"));
        }
        // Every `{name}` of the path is a declared path parameter.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for segment in path.split('/') {
            if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                && !declared.contains(param)
            {
                problems.push(format!(
                    "{name}: the path parameter `{param}` is not declared"
                ));
            }
        }
        let responses = op["responses"].as_object();
        if responses.is_none_or(|r| r.is_empty()) {
            problems.push(format!("{name} declares no response"));
        }
        for (status, response) in responses.into_iter().flatten() {
            let response = resolve(&doc, response);
            if !has_text(response, "description") {
                problems.push(format!("{name}: response {status} has no description"));
            }
        }
    }
    // Every reference points at something.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for reference in refs {
        if pointer(&doc, &reference).is_none() {
            problems.push(format!("`{reference}` points at nothing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The served description is the one the code builds, and it is OpenAPI 3.1.
#[tokio::test]
async fn the_description_is_served_at_openapi_json() {
    let server = server::start(|_| {}).await;
    let response = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document());
    assert_eq!(served["openapi"], "3.1.0");
}

/// The routes read from the source are real: each is served by the router
/// (its answer is not the router's fallback 404 or 405).
#[tokio::test]
async fn the_routes_read_from_the_source_are_the_routers() {
    let server = server::start(|_| {}).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut problems = Vec::new();
    for ((method, path), file) in served_routes() {
        if CONFIGURED_ONLY.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|segment| match segment {
                "{tenant}" => "default",
                "{path}" => "some/where",
                s if s.starts_with('{') => "x",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let request_method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client
            .request(request_method, format!("{}{concrete}", server.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let fell_through = (status == 404 && body.contains("there is no such route"))
            || (status == 405 && body.contains("does not accept that method"));
        if fell_through {
            problems.push(format!(
                "{} {path} (read from {file}) is not served: {status} {body}",
                method.to_uppercase()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn document() -> Value {
    serde_json::to_value(gatehouse_server::openapi::document()).unwrap()
}

fn has_text(value: &Value, key: &str) -> bool {
    value[key].as_str().is_some_and(|s| !s.trim().is_empty())
}

/// (method, path) → the operation, from the description.
fn described_operations() -> BTreeMap<(String, String), Value> {
    let doc = document();
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths").iter() {
        for (method, op) in item.as_object().expect("a path item").iter() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.insert((method.clone(), path.clone()), op.clone());
            }
        }
    }
    ops
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => pointer(doc, reference).unwrap_or(value),
        None => value,
    }
}

fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Every (method, path) the `src/routes` files declare, in OpenAPI's
/// spelling (`{*path}` is `{path}`).
fn served_routes() -> Routes {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(!files.is_empty(), "no route files under {}", root.display());
    let mut routes = Routes::new();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&file)
            .display()
            .to_string();
        match routes_of(&tokens(&text)) {
            Ok(found) => {
                for (method, path) in found {
                    routes.insert((method, path), shown.clone());
                }
            }
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        routes.len() > 50,
        "only {} routes were read from src/routes; has the way routes are declared changed?",
        routes.len()
    );
    routes
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Rust source as identifiers, string literals and punctuation, without
/// comments. Enough of Rust's lexical grammar for route declarations:
/// nested block comments, escapes, raw strings, byte strings, and `'`
/// as a char literal or a lifetime.
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '#' || at(i + 1) == '"') && raw_start(&chars, i + 1) {
            // r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            let start = j;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    break;
                }
                j += 1;
            }
            out.push(Token::Str(
                chars[start..j.min(chars.len())].iter().collect(),
            ));
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            let mut text = String::new();
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    text.push(chars[j]);
                    j += 1;
                }
                if j < chars.len() {
                    text.push(chars[j]);
                }
                j += 1;
            }
            out.push(Token::Str(text));
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            // b"…" is a byte string: leave the quote for the next turn.
            if ident != "b" || at(i) != '"' {
                out.push(Token::Ident(ident));
            }
        } else if c.is_whitespace() || c.is_ascii_digit() {
            i += 1;
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

fn raw_start(chars: &[char], mut j: usize) -> bool {
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// The `.route("…", …)` calls of one file, as (method, path).
fn routes_of(tokens: &[Token]) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < tokens.len() {
        let Token::Ident(name) = &tokens[i + 1] else {
            i += 1;
            continue;
        };
        if tokens[i] != Token::Punct('.') {
            i += 1;
            continue;
        }
        if ["nest", "nest_service", "route_service", "fallback_service"].contains(&name.as_str()) {
            return Err(format!(
                "`.{name}(…)` adds routes this test cannot read; declare them with `.route(…)`"
            ));
        }
        if name != "route" || tokens.get(i + 2) != Some(&Token::Punct('(')) {
            i += 1;
            continue;
        }
        let Some(Token::Str(path)) = tokens.get(i + 3) else {
            return Err("a `.route(` whose path is not a string literal".into());
        };
        if tokens.get(i + 4) != Some(&Token::Punct(',')) {
            return Err(format!(
                "`.route(\"{path}\"` is not followed by a method router"
            ));
        }
        // The method router: up to the `)` that closes `.route(`.
        let mut depth = 0;
        let mut j = i + 5;
        let mut methods = Vec::new();
        while j < tokens.len() {
            match &tokens[j] {
                Token::Punct('(') | Token::Punct('[') | Token::Punct('{') => depth += 1,
                Token::Punct(')') | Token::Punct(']') | Token::Punct('}') if depth == 0 => break,
                Token::Punct(')') | Token::Punct(']') | Token::Punct('}') => depth -= 1,
                Token::Ident(m)
                    if depth == 0
                        && METHODS.contains(&m.as_str())
                        && tokens.get(j + 1) == Some(&Token::Punct('(')) =>
                {
                    methods.push(m.clone())
                }
                _ => {}
            }
            j += 1;
        }
        if methods.is_empty() {
            return Err(format!(
                "cannot read the methods of `.route(\"{path}\", …)`: write its method router \
                 inline, as `get(handler).post(other)`"
            ));
        }
        let openapi_path = path.replace("{*", "{");
        for method in methods {
            if method == "any" {
                found.extend(ANY.iter().map(|m| (m.to_string(), openapi_path.clone())));
            } else {
                found.push((method, openapi_path.clone()));
            }
        }
        i = j;
    }
    Ok(found)
}

#[test]
fn the_reader_reads_routes_and_skips_what_only_mentions_them() {
    let source = r#"
        // .route("/commented", get(x))
        /* .route("/blocked", get(x)) /* nested */ */
        #[utoipa::path(description = "a `.route(\"/described\", get(x))` in a string")]
        fn router() -> Router<AppState> {
            let _ = 'x';
            Router::new()
                .route("/a/{id}", get(show).delete(delete))
                .route(
                    "/t/{tenant}/auth/{*path}",
                    any(envoy_auth),
                )
                .route("/b", axum::routing::post(handler).layer(thing()))
        }
    "#;
    let found = routes_of(&tokens(source)).unwrap();
    let mut expected = vec![
        ("get".to_string(), "/a/{id}".to_string()),
        ("delete".into(), "/a/{id}".into()),
    ];
    expected.extend(
        ANY.iter()
            .map(|m| (m.to_string(), "/t/{tenant}/auth/{path}".to_string())),
    );
    expected.push(("post".into(), "/b".into()));
    assert_eq!(found, expected);

    assert!(routes_of(&tokens(r#"Router::new().nest("/x", other())"#)).is_err());
    assert!(routes_of(&tokens(r#"Router::new().route("/x", methods)"#)).is_err());
}
