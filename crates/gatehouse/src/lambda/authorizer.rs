//! The API Gateway Lambda authorizer: verifies the bearer token offline
//! against the tenant's keys (cached; no database read per request) and
//! answers in the form the event's API type expects.
//!
//! - REST API, `TOKEN` type (`authorizationToken`, `methodArn`) and
//!   `REQUEST` type (`headers`, `methodArn`): an IAM policy with
//!   `principalId` = `sub` and a `context` of identity claims. A missing or
//!   invalid token fails the invocation with `Unauthorized`, which API
//!   Gateway turns into a 401 (a Deny policy would be a 403, meant for a
//!   known caller who may not pass).
//! - HTTP API, payload 2.0 (`version: "2.0"`): the simple response
//!   `{isAuthorized, context}` (the authorizer needs
//!   `EnableSimpleResponses: true`).
//!
//! The Allow policy covers every method and path of the stage, not just
//! `methodArn`: API Gateway caches the policy by token, and a policy naming
//! one route would deny the same token on the next route it calls.

use gatehouse_core::service::gate::{Credential, Decision, GateRequest, Identity, NoHeaders};
use gatehouse_server::AppState;
use gatehouse_server::extract::bearer_or_bare;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use crate::CliResult;

/// The failure API Gateway maps to 401 (its exact text is the contract).
pub const UNAUTHORIZED: &str = "Unauthorized";

/// Answers one authorizer event for `tenant`. `Err(Unauthorized)` for a
/// REST API caller without a valid token; other errors are faults (the
/// tenant or the store is unavailable).
pub async fn handle(state: &AppState, tenant: &str, event: &Value) -> CliResult<Value> {
    let ctx = state.services.contexts.get(tenant).await?;
    // The gate decides; this adapter only renders its answer.
    let (method, path) = original_request(event);
    let verify = async |token: Option<SecretString>| -> CliResult<Option<Identity>> {
        let request = GateRequest {
            method: &method,
            path: &path,
            credential: token.map(Credential::Bearer),
            headers: &NoHeaders,
            body: None,
            check_session: false,
        };
        Ok(match state.services.gate.decide(&ctx, request).await? {
            Decision::Allow(identity) => Some(*identity),
            Decision::Challenge(_) | Decision::Deny(_) => None,
        })
    };

    if event["version"] == "2.0" {
        // HTTP API: the identity source, else the header itself.
        let token = event["identitySource"]
            .as_array()
            .and_then(|sources| sources.first())
            .and_then(Value::as_str)
            .or_else(|| header(event, "authorization"))
            .and_then(bearer_or_bare);
        return Ok(match verify(token).await? {
            Some(identity) => json!({ "isAuthorized": true, "context": context(&identity) }),
            None => json!({ "isAuthorized": false }),
        });
    }

    let token = match event["type"].as_str() {
        Some("TOKEN") => event["authorizationToken"]
            .as_str()
            .and_then(bearer_or_bare),
        Some("REQUEST") => header(event, "authorization").and_then(bearer_or_bare),
        _ => {
            return Err(
                "not an API Gateway authorizer event (no TOKEN, REQUEST or 2.0 payload)".into(),
            );
        }
    };
    let method_arn = event["methodArn"]
        .as_str()
        .ok_or("the authorizer event has no methodArn")?;
    let Some(identity) = verify(token).await? else {
        return Err(UNAUTHORIZED.into());
    };
    Ok(json!({
        "principalId": identity.subject.clone().unwrap_or_else(|| "anonymous".into()),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": stage_wildcard(method_arn),
            }],
        },
        "context": context(&identity),
    }))
}

/// A header by name, case-insensitively (REST sends them as the client
/// wrote them; HTTP API lowercases them).
fn header<'e>(event: &'e Value, name: &str) -> Option<&'e str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` →
/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*/*`.
fn stage_wildcard(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) => format!("{api}/{stage}/*/*"),
        _ => method_arn.to_string(),
    }
}

/// The method and path the caller asked API Gateway for, for the
/// tenant's route policy: from the REQUEST or 2.0 event, else from
/// `methodArn` (`…/STAGE/METHOD/PATH`, all a TOKEN event carries).
fn original_request(event: &Value) -> (String, String) {
    let method = event["httpMethod"]
        .as_str()
        .or_else(|| event["requestContext"]["http"]["method"].as_str());
    let path = event["path"].as_str().or_else(|| event["rawPath"].as_str());
    if let (Some(m), Some(p)) = (method, path) {
        return (m.to_string(), p.to_string());
    }
    let mut parts = event["methodArn"].as_str().unwrap_or("").splitn(4, '/');
    let (_, _, m, p) = (parts.next(), parts.next(), parts.next(), parts.next());
    (
        m.unwrap_or("GET").to_string(),
        format!("/{}", p.unwrap_or("")),
    )
}

/// What the integration receives as `$context.authorizer.*` (REST) or
/// `requestContext.authorizer.lambda` (HTTP API). API Gateway accepts only
/// strings, numbers and booleans here, so roles are joined with spaces.
fn context(identity: &Identity) -> Value {
    let mut c = Map::new();
    c.insert("tenant".into(), identity.tenant.clone().into());
    c.insert("scope".into(), identity.scope().into());
    c.insert("roles".into(), identity.roles.join(" ").into());
    c.insert("credential".into(), identity.credential.as_str().into());
    let claims = identity.claims.as_ref();
    if let Some(exp) = claims.map(|c| c.exp) {
        c.insert("exp".into(), exp.into());
    }
    for (name, value) in [
        ("sub", identity.subject.as_ref()),
        ("username", identity.username.as_ref()),
        ("email", identity.email.as_ref()),
        ("sid", claims.and_then(|c| c.sid.as_ref())),
        ("key_id", identity.key_id.as_ref()),
    ] {
        if let Some(v) = value {
            c.insert(name.into(), v.clone().into());
        }
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_covers_the_stage() {
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/orders/7"),
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/*/*"
        );
    }
}
