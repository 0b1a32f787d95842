//! A tenant's route policy: an ordered list of rules; the first whose
//! methods and path pattern match the request decides what it accepts.
//!
//! ```json
//! {"rules": [
//!   {"name": "health",  "methods": ["GET"], "path": "/function/health", "allow": ["public"]},
//!   {"name": "billing", "function": "billing-*", "allow": ["jwt", "api_key"], "scopes": ["billing"]},
//!   {"name": "rest",    "path": "/**", "allow": ["deny"]}
//! ]}
//! ```
//!
//! Patterns match the normalised request path ([`RequestPath`]): `*`
//! within one segment, `**` (a whole segment) across any number of them.
//! `"function": "billing-*"` stands for `/function/billing-*` and
//! `/async-function/billing-*`, each with any sub-path (OpenFaaS).
//! Everything is checked when the list is parsed, so a list that parses
//! is one the gate can apply; errors name the rule (by name, else `rule
//! #N`, counting from 1) and the reason.

mod path;
mod pattern;

use serde::{Deserialize, Serialize};

pub use path::{PathError, RequestPath};
use pattern::Pattern;

use crate::webhook;

/// Most rules a tenant may have.
pub const MAX_RULES: usize = 256;
/// Longest pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 512;

/// What a rule lets through; any one suffices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accept {
    /// Anyone, without credentials.
    Public,
    Jwt,
    ApiKey,
    Basic,
    Hmac,
    /// No one.
    Deny,
}

/// The policy as written (and as `GET` returns it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub rules: Vec<RuleDocument>,
}

/// One rule as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub allow: Vec<Accept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacConfig>,
}

/// A rule's HMAC section, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacConfig {
    /// `github`, `stripe`, `standard` or `generic`.
    pub scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Several, for rotation: any one verifying suffices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Seconds a signed timestamp may be off (Stripe, Standard, generic
    /// with a timestamp header); default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<u64>,
    /// generic: `sha256` (default) or `sha512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// generic: the signature header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// generic: `hex` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// generic: text before the signature (`sha256=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// generic: a timestamp header; the signed text is then `<ts>.<body>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
}

impl HmacConfig {
    /// The secret names to try, in order.
    pub fn secret_names(&self) -> &[String] {
        match &self.secret {
            Some(one) => std::slice::from_ref(one),
            None => &self.secrets,
        }
    }

    /// The verifier's form; valid once the policy parsed.
    pub fn scheme(&self) -> webhook::Scheme {
        let tolerance_secs = self.tolerance.unwrap_or(webhook::DEFAULT_TOLERANCE_SECS);
        match self.scheme.as_str() {
            "github" => webhook::Scheme::GitHub,
            "stripe" => webhook::Scheme::Stripe { tolerance_secs },
            "standard" => webhook::Scheme::Standard { tolerance_secs },
            _ => webhook::Scheme::Generic {
                algorithm: match self.algorithm.as_deref() {
                    Some("sha512") => webhook::Digest::Sha512,
                    _ => webhook::Digest::Sha256,
                },
                header: self.header.clone().unwrap_or_default().to_ascii_lowercase(),
                encoding: match self.encoding.as_deref() {
                    Some("base64") => webhook::Encoding::Base64,
                    _ => webhook::Encoding::Hex,
                },
                prefix: self.prefix.clone(),
                timestamp_header: self
                    .timestamp_header
                    .as_ref()
                    .map(|h| h.to_ascii_lowercase()),
                tolerance_secs,
            },
        }
    }

    fn check(&self) -> Result<(), String> {
        let generic = self.scheme == "generic";
        match self.scheme.as_str() {
            "github" | "stripe" | "standard" | "generic" => {}
            other => {
                return Err(format!(
                    "hmac scheme `{other}` is not one of github, stripe, standard, generic"
                ));
            }
        }
        match (&self.secret, self.secrets.len()) {
            (Some(_), 0) | (None, 1..=4) => {}
            (Some(_), _) => return Err("hmac takes `secret` or `secrets`, not both".into()),
            (None, 0) => return Err("hmac needs `secret` (or `secrets` for rotation)".into()),
            (None, _) => return Err("hmac `secrets` lists at most 4 names".into()),
        }
        for name in self.secret_names() {
            crate::tenant_secret::check_name(name).map_err(|_| {
                format!("hmac secret name `{name}` is not 1 to 64 of A-Z a-z 0-9 _ . -")
            })?;
        }
        if let Some(t) = self.tolerance {
            let timed = matches!(self.scheme.as_str(), "stripe" | "standard")
                || (generic && self.timestamp_header.is_some());
            if !timed {
                return Err("hmac `tolerance` applies only to signed timestamps (stripe, standard, generic with timestamp_header)".into());
            }
            if !(1..=3600).contains(&t) {
                return Err("hmac `tolerance` is 1 to 3600 seconds".into());
            }
        }
        let generic_only = [
            ("algorithm", self.algorithm.is_some()),
            ("header", self.header.is_some()),
            ("encoding", self.encoding.is_some()),
            ("prefix", self.prefix.is_some()),
            ("timestamp_header", self.timestamp_header.is_some()),
        ];
        if !generic {
            if let Some((field, _)) = generic_only.iter().find(|(_, set)| *set) {
                return Err(format!("hmac `{field}` applies only to the generic scheme"));
            }
            return Ok(());
        }
        match self.header.as_deref() {
            Some(h) if is_header_name(h) => {}
            _ => return Err("generic hmac needs `header`, a header name".into()),
        }
        if let Some(h) = &self.timestamp_header
            && !is_header_name(h)
        {
            return Err("hmac `timestamp_header` must be a header name".into());
        }
        if !matches!(self.algorithm.as_deref(), None | Some("sha256" | "sha512")) {
            return Err("hmac `algorithm` is sha256 or sha512".into());
        }
        if !matches!(self.encoding.as_deref(), None | Some("hex" | "base64")) {
            return Err("hmac `encoding` is hex or base64".into());
        }
        if self.prefix.as_ref().is_some_and(|p| p.len() > 64) {
            return Err("hmac `prefix` is at most 64 bytes".into());
        }
        Ok(())
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 64
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A validated rule, ready to match.
#[derive(Debug, Clone)]
pub struct Rule {
    doc: RuleDocument,
    methods: Option<Vec<String>>,
    patterns: Vec<Pattern>,
}

impl Rule {
    pub fn name(&self) -> Option<&str> {
        self.doc.name.as_deref()
    }
    pub fn accepts(&self, what: Accept) -> bool {
        self.doc.allow.contains(&what)
    }
    pub fn allow(&self) -> &[Accept] {
        &self.doc.allow
    }
    /// Every one must be carried.
    pub fn scopes(&self) -> &[String] {
        &self.doc.scopes
    }
    /// Every one must be held.
    pub fn roles(&self) -> &[String] {
        &self.doc.roles
    }
    pub fn realm(&self) -> Option<&str> {
        self.doc.realm.as_deref()
    }
    pub fn hmac(&self) -> Option<&HmacConfig> {
        self.doc.hmac.as_ref()
    }

    /// Whether this rule matches `method` on `path`.
    pub fn matches(&self, method: &str, path: &RequestPath) -> bool {
        let method_ok = self
            .methods
            .as_ref()
            .is_none_or(|ms| ms.iter().any(|m| m.eq_ignore_ascii_case(method)));
        method_ok && self.patterns.iter().any(|p| p.matches(path.segments()))
    }

    fn from_document(doc: RuleDocument) -> Result<Self, String> {
        if let Some(name) = &doc.name
            && (name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control))
        {
            return Err("`name` is 1 to 64 characters".into());
        }
        let methods = match &doc.methods {
            None => None,
            Some(ms) if ms.is_empty() => {
                return Err("`methods` must not be empty (leave it out for any method)".into());
            }
            Some(ms) => {
                let mut out = Vec::new();
                for m in ms {
                    if m.is_empty() || m.len() > 32 || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(format!("`{m}` is not an HTTP method"));
                    }
                    out.push(m.to_ascii_uppercase());
                }
                Some(out)
            }
        };
        let patterns = match (&doc.path, &doc.function) {
            (Some(_), Some(_)) => return Err("give `path` or `function`, not both".into()),
            (None, None) => return Err("needs `path` or `function`".into()),
            (Some(p), None) => vec![Pattern::parse(p)?],
            (None, Some(f)) => {
                if f.is_empty() || f.contains('/') {
                    return Err("`function` is a function name pattern, without `/`".into());
                }
                let mut out = Vec::new();
                for prefix in ["/function/", "/async-function/"] {
                    out.push(Pattern::parse(&format!("{prefix}{f}"))?);
                    out.push(Pattern::parse(&format!("{prefix}{f}/**"))?);
                }
                out
            }
        };
        if doc.allow.is_empty() {
            return Err("`allow` must not be empty".into());
        }
        for alone in [Accept::Public, Accept::Deny] {
            if doc.allow.contains(&alone) && doc.allow.len() > 1 {
                let word = if alone == Accept::Public {
                    "public"
                } else {
                    "deny"
                };
                return Err(format!("`{word}` must stand alone in `allow`"));
            }
        }
        let has_hmac = doc.allow.contains(&Accept::Hmac);
        match (&doc.hmac, has_hmac) {
            (Some(h), true) => h.check()?,
            (None, true) => {
                return Err("`allow` has hmac, so the rule needs an `hmac` section".into());
            }
            (Some(_), false) => return Err("an `hmac` section needs hmac in `allow`".into()),
            (None, false) => {}
        }
        for scope in &doc.scopes {
            if !crate::token::is_valid_scope(scope) || scope.contains(' ') {
                return Err(format!("`{scope}` is not a scope token"));
            }
        }
        for role in &doc.roles {
            if role.is_empty() || role.len() > 255 {
                return Err("a role is 1 to 255 characters".into());
            }
        }
        if let Some(realm) = &doc.realm
            && (realm.is_empty()
                || realm.len() > 64
                || !realm
                    .bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'))
        {
            return Err(
                "`realm` is 1 to 64 printable ASCII characters, without `\"` or `\\`".into(),
            );
        }
        Ok(Self {
            doc,
            methods,
            patterns,
        })
    }
}

/// The two ways a policy is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyFormat {
    Json,
    Toml,
}

impl PolicyFormat {
    pub fn name(self) -> &'static str {
        match self {
            PolicyFormat::Json => "JSON",
            PolicyFormat::Toml => "TOML",
        }
    }
}

impl PolicyDocument {
    /// The document as TOML (`[[rules]]` tables), which
    /// [`Policy::parse_toml`] reads back as the same document.
    pub fn to_toml(&self) -> crate::Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| crate::Error::Internal(format!("writing a policy as TOML failed: {e}")))
    }
}

/// A validated policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    document: PolicyDocument,
    rules: Vec<Rule>,
}

/// Why a policy was refused: one sentence naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

impl Policy {
    pub fn from_document(document: PolicyDocument) -> Result<Self, PolicyError> {
        if document.rules.len() > MAX_RULES {
            return Err(PolicyError(format!(
                "a policy has at most {MAX_RULES} rules, not {}",
                document.rules.len()
            )));
        }
        let mut rules = Vec::with_capacity(document.rules.len());
        for (i, rule) in document.rules.iter().enumerate() {
            let label = match &rule.name {
                Some(n) => format!("rule \"{n}\""),
                None => format!("rule #{}", i + 1),
            };
            if let Some(n) = &rule.name
                && document.rules[..i]
                    .iter()
                    .any(|r| r.name.as_ref() == Some(n))
            {
                return Err(PolicyError(format!(
                    "{label}: the name is used by an earlier rule"
                )));
            }
            rules.push(
                Rule::from_document(rule.clone())
                    .map_err(|reason| PolicyError(format!("{label}: {reason}")))?,
            );
        }
        Ok(Self { document, rules })
    }

    /// A policy file or request body as received, in `format`: the one
    /// parser the admin API and the command line share, so both refuse the
    /// same lists with the same words.
    pub fn parse(bytes: &[u8], format: PolicyFormat) -> Result<Self, PolicyError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PolicyError(format!("the policy must be UTF-8 {}", format.name())))?;
        match format {
            PolicyFormat::Json => Self::parse_json(text),
            PolicyFormat::Toml => Self::parse_toml(text),
        }
    }

    /// `{"rules": [...]}`.
    pub fn parse_json(text: &str) -> Result<Self, PolicyError> {
        let document: PolicyDocument = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("the policy is not valid: {e}")))?;
        Self::from_document(document)
    }

    /// The same as TOML: `[[rules]]` tables with the same keys.
    pub fn parse_toml(text: &str) -> Result<Self, PolicyError> {
        let document: PolicyDocument = toml::from_str(text)
            .map_err(|e| PolicyError(format!("the policy is not valid: {}", e.message())))?;
        Self::from_document(document)
    }

    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that matches; `None` means deny.
    pub fn rule_for(&self, method: &str, path: &RequestPath) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(method, path))
    }
}

#[cfg(test)]
mod tests;
