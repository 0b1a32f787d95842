#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

const EXAMPLE: &str = r#"{"rules": [
  {"name": "health",  "methods": ["GET"], "path": "/function/health", "allow": ["public"]},
  {"name": "billing", "function": "billing-*", "allow": ["jwt", "api_key"], "scopes": ["billing"]},
  {"name": "hook",    "methods": ["POST"], "path": "/function/github-hook", "allow": ["hmac"],
   "hmac": {"scheme": "github", "secret": "github-hook"}},
  {"name": "legacy",  "path": "/function/legacy/**", "allow": ["basic"], "realm": "legacy"},
  {"name": "rest",    "path": "/**", "allow": ["deny"]}
]}"#;

fn pick<'p>(policy: &'p Policy, method: &str, path: &str) -> Option<&'p str> {
    policy
        .rule_for(method, &RequestPath::parse(path).unwrap())
        .and_then(Rule::name)
}

#[test]
fn the_example_picks_the_right_rule() {
    let p = Policy::parse_json(EXAMPLE).unwrap();
    for (method, path, rule) in [
        ("GET", "/function/health", "health"),
        ("get", "/function/health?x=1", "health"),
        ("POST", "/function/health", "rest"),
        ("POST", "/async-function/billing-eu/charge", "billing"),
        ("GET", "/function/billing-eu", "billing"),
        ("GET", "/function/billing", "rest"),
        ("GET", "/function/billingx", "rest"),
        ("POST", "/function/github-hook", "hook"),
        ("GET", "/function/github-hook", "rest"),
        ("GET", "/function/legacy", "legacy"),
        ("GET", "/function/legacy/a/b", "legacy"),
        ("GET", "/", "rest"),
    ] {
        assert_eq!(pick(&p, method, path), Some(rule), "{method} {path}");
    }
}

#[test]
fn json_and_toml_give_the_same_policy_and_the_document_round_trips() {
    let json = Policy::parse_json(EXAMPLE).unwrap();
    let toml = Policy::parse_toml(
        r#"
[[rules]]
name = "health"
methods = ["GET"]
path = "/function/health"
allow = ["public"]

[[rules]]
name = "billing"
function = "billing-*"
allow = ["jwt", "api_key"]
scopes = ["billing"]

[[rules]]
name = "hook"
methods = ["POST"]
path = "/function/github-hook"
allow = ["hmac"]
hmac = { scheme = "github", secret = "github-hook" }

[[rules]]
name = "legacy"
path = "/function/legacy/**"
allow = ["basic"]
realm = "legacy"

[[rules]]
name = "rest"
path = "/**"
allow = ["deny"]
"#,
    )
    .unwrap();
    assert_eq!(json.document(), toml.document());
    let text = serde_json::to_string(json.document()).unwrap();
    assert_eq!(
        Policy::parse_json(&text).unwrap().document(),
        json.document()
    );
    assert!(!text.contains("null"), "absent fields stay absent: {text}");
    let as_toml = json.document().to_toml().unwrap();
    assert_eq!(
        Policy::parse_toml(&as_toml).unwrap().document(),
        json.document(),
        "{as_toml}"
    );
    assert_eq!(
        Policy::parse(as_toml.as_bytes(), PolicyFormat::Toml)
            .unwrap()
            .document(),
        json.document()
    );
    assert_eq!(
        Policy::parse(EXAMPLE.as_bytes(), PolicyFormat::Json)
            .unwrap()
            .document(),
        json.document()
    );
}

#[test]
fn a_policy_that_is_not_utf8_is_refused_in_its_format() {
    let e = Policy::parse(b"{\"rules\": [\xff]}", PolicyFormat::Json).unwrap_err();
    assert_eq!(e.to_string(), "the policy must be UTF-8 JSON");
    let e = Policy::parse(b"\xff", PolicyFormat::Toml).unwrap_err();
    assert_eq!(e.to_string(), "the policy must be UTF-8 TOML");
}

#[test]
fn each_mistake_names_its_rule_and_reason() {
    for (rules, expect) in [
        (
            r#"{"name":"a","path":"/x","allow":[]}"#,
            r#"rule "a": `allow` must not be empty"#,
        ),
        (
            r#"{"path":"x","allow":["jwt"]}"#,
            "rule #1: the path `x` must start with `/`",
        ),
        (r#"{"path":"/a//b","allow":["jwt"]}"#, "empty segment"),
        (r#"{"path":"/a/../b","allow":["jwt"]}"#, "`..` segment"),
        (r#"{"path":"/a**","allow":["jwt"]}"#, "whole segment"),
        (r#"{"path":"/a%2F","allow":["jwt"]}"#, "normalised"),
        (
            r#"{"path":"/a","function":"b","allow":["jwt"]}"#,
            "not both",
        ),
        (r#"{"allow":["jwt"]}"#, "needs `path` or `function`"),
        (r#"{"function":"a/b","allow":["jwt"]}"#, "without `/`"),
        (
            r#"{"path":"/a","allow":["public","jwt"]}"#,
            "`public` must stand alone",
        ),
        (
            r#"{"path":"/a","allow":["deny","jwt"]}"#,
            "`deny` must stand alone",
        ),
        (
            r#"{"path":"/a","allow":["hmac"]}"#,
            "needs an `hmac` section",
        ),
        (
            r#"{"path":"/a","allow":["jwt"],"hmac":{"scheme":"github","secret":"s"}}"#,
            "needs hmac in `allow`",
        ),
        (
            r#"{"path":"/a","allow":["hmac"],"hmac":{"scheme":"md5","secret":"s"}}"#,
            "not one of",
        ),
        (
            r#"{"path":"/a","allow":["hmac"],"hmac":{"scheme":"github"}}"#,
            "needs `secret`",
        ),
        (
            r#"{"path":"/a","allow":["hmac"],"hmac":{"scheme":"generic","secret":"s"}}"#,
            "needs `header`",
        ),
        (
            r#"{"path":"/a","allow":["hmac"],"hmac":{"scheme":"github","secret":"s","header":"x"}}"#,
            "only to the generic",
        ),
        (
            r#"{"path":"/a","allow":["hmac"],"hmac":{"scheme":"github","secret":"s","tolerance":5}}"#,
            "only to signed timestamps",
        ),
        (
            r#"{"path":"/a","allow":["jwt"],"methods":[]}"#,
            "`methods` must not be empty",
        ),
        (
            r#"{"path":"/a","allow":["jwt"],"methods":["G T"]}"#,
            "not an HTTP method",
        ),
        (r#"{"path":"/a","allow":["jwt"],"realm":"a\"b"}"#, "`realm`"),
        (
            r#"{"path":"/a","allow":["jwt"],"scopes":["a b"]}"#,
            "not a scope token",
        ),
        (
            r#"{"path":"/a","allow":["jwt"],"colour":"red"}"#,
            "unknown field",
        ),
        (r#"{"path":"/a","allow":["maybe"]}"#, "unknown variant"),
    ] {
        let err = Policy::parse_json(&format!(r#"{{"rules":[{rules}]}}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{rules}: {err}");
    }
    let dup = r#"{"rules":[{"name":"a","path":"/x","allow":["jwt"]},{"name":"a","path":"/y","allow":["jwt"]}]}"#;
    assert!(
        Policy::parse_json(dup)
            .unwrap_err()
            .to_string()
            .contains("rule \"a\": the name is used")
    );
    let second = r#"{"rules":[{"path":"/x","allow":["jwt"]},{"path":"/y","allow":[]}]}"#;
    assert!(
        Policy::parse_json(second)
            .unwrap_err()
            .to_string()
            .starts_with("rule #2:")
    );
}

#[test]
fn request_paths_are_normalised_or_refused() {
    let norm = |p: &str| RequestPath::parse(p).map(|r| r.to_string());
    assert_eq!(norm("/a//b/./c/../d/?q=1#f").unwrap(), "/a/b/d");
    assert_eq!(norm("/a%41b").unwrap(), "/aAb");
    assert_eq!(norm("/").unwrap(), "/");
    for bad in [
        "a",
        "/a%2Fb",
        "/a%2fb",
        "/%2e%2e/x",
        "/a%5Cb",
        "/a\\b",
        "/a%zz",
        "/a%4",
        "/..",
        "/a/../..",
        "/a%00",
        "/a%ff",
    ] {
        assert!(norm(bad).is_err(), "{bad}");
    }
    assert!(norm(&format!("/{}", "a".repeat(9000))).is_err());
}

fn segment() -> impl Strategy<Value = String> {
    "[a-c]{1,3}"
}

proptest! {
    #[test]
    fn first_match_wins(
        patterns in prop::collection::vec(prop::collection::vec(prop_oneof![segment(), Just("*".to_string()), Just("**".to_string()), Just("a*".to_string())], 0..4), 1..6),
        path in prop::collection::vec(segment(), 0..5),
    ) {
        let rules: Vec<String> = patterns
            .iter()
            .enumerate()
            .map(|(i, segs)| format!(r#"{{"name":"r{i}","path":"/{}","allow":["jwt"]}}"#, segs.join("/")))
            .collect();
        let policy = Policy::parse_json(&format!(r#"{{"rules":[{}]}}"#, rules.join(","))).unwrap();
        let path = RequestPath::parse(&format!("/{}", path.join("/"))).unwrap();
        let expected = policy.rules().iter().position(|r| r.matches("GET", &path));
        let got = policy.rule_for("GET", &path).and_then(Rule::name).map(String::from);
        prop_assert_eq!(got, expected.map(|i| format!("r{i}")));
    }

    #[test]
    fn a_star_never_crosses_a_slash(rest in prop::collection::vec(segment(), 2..5)) {
        let policy = Policy::parse_json(r#"{"rules":[{"path":"/p/*","allow":["jwt"]}]}"#).unwrap();
        let path = RequestPath::parse(&format!("/p/{}", rest.join("/"))).unwrap();
        prop_assert!(policy.rule_for("GET", &path).is_none());
    }

    #[test]
    fn tricks_never_reach_a_rule_outside_their_normalised_path(
        prefix in prop::collection::vec(segment(), 0..3),
        trick in prop_oneof![
            Just("/../safe/x"), Just("/%2e%2e/safe/x"), Just("%2Fsafe/x"), Just("//safe/x"),
            Just("?/safe/x"), Just("#/safe/x"), Just("/.%2e/safe"), Just("/./safe/x"),
        ],
    ) {
        let policy = Policy::parse_json(r#"{"rules":[{"path":"/safe/**","allow":["jwt"]}]}"#).unwrap();
        let raw = format!("/other/{}{trick}", prefix.join("/"));
        match RequestPath::parse(&raw) {
            Err(_) => {}
            Ok(path) => {
                let matched = policy.rule_for("GET", &path).is_some();
                let under_safe = path.segments().first().map(String::as_str) == Some("safe");
                prop_assert_eq!(matched, under_safe, "{} -> {}", raw, path);
                // Normalisation is idempotent.
                let again = RequestPath::parse(&path.to_string()).unwrap();
                prop_assert_eq!(again, path);
            }
        }
    }
}
