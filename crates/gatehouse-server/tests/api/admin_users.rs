//! `/admin/t/{tenant}/users` and the signed-in user's own `{iss}/me` and
//! `{iss}/sessions` (README "Users, as an admin and as themselves"):
//! paging in a stable order while users are added, prefix search,
//! profile/roles/`email_verified` patches, a user's sessions (created,
//! last refreshed, client, IP, user agent) listed and ended one or all;
//! disabling ends everything at once and deleting frees the username (on
//! every backend); tenant settings.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::{login_with, set_tenant, tokens};
use crate::helpers::{
    Options, PASSWORD, TestApp, error_code, on_every_backend, spawn_app, spawn_app_with,
};

const USERS: &str = "/admin/t/default/users";

async fn admin_json(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = app.admin(method.clone(), path, body).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

async fn create_user(app: &TestApp, username: &str, email: &str) -> Value {
    let r = app
        .admin(
            Method::POST,
            USERS,
            Some(json!({"username": username, "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// A login from a client that names itself.
async fn login_as_agent(app: &TestApp, username: &str, agent: &str) -> Value {
    let r = app
        .client
        .post(format!("{}/t/default/login", app.base))
        .header("user-agent", agent)
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

async fn refresh_status(app: &TestApp, tokens: &Value) -> StatusCode {
    app.refresh("default", s(tokens, "refresh_token"))
        .await
        .status()
}

async fn session_check(app: &TestApp, tokens: &Value) -> StatusCode {
    app.get_with_bearer("/t/default/auth?session=check", s(tokens, "access_token"))
        .await
        .status()
}

#[tokio::test]
async fn pages_keep_a_stable_order_while_users_are_added() {
    let app = spawn_app().await;
    let mut original = HashSet::new();
    for i in 0..12 {
        let u = create_user(&app, &format!("user{i:02}"), &format!("u{i}@example.com")).await;
        original.insert(s(&u, "id").to_string());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut added = 0;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{USERS}?limit=5&cursor={c}"),
            None => format!("{USERS}?limit=5"),
        };
        let page = admin_json(&app, Method::GET, &path, None).await;
        pages += 1;
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 5);
        for u in users {
            assert!(u.get("password_hash").is_none(), "{u}");
            seen.push(s(u, "id").to_string());
        }
        // Users join between pages, as they would on a live tenant.
        for _ in 0..3 {
            added += 1;
            create_user(
                &app,
                &format!("late{added:02}"),
                &format!("late{added}@example.com"),
            )
            .await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a user was shown twice: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "pages are in id order");
    for id in &original {
        assert!(seen.contains(id), "{id} was skipped");
    }
    println!(
        "{pages} pages of 5: {} users shown once each, in id order, while {added} were added",
        seen.len()
    );
    // A garbage cursor is a page after it, not an error.
    let page = admin_json(&app, Method::GET, &format!("{USERS}?cursor=zzzz"), None).await;
    assert_eq!(page["users"], json!([]));
    assert_eq!(page["next_cursor"], Value::Null);
    let r = app
        .admin(Method::GET, &format!("{USERS}?limit=ten"), None)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_matches_the_start_of_a_username_or_email_in_any_case() {
    let app = spawn_app().await;
    create_user(&app, "alice", "alice@example.com").await;
    create_user(&app, "Albert", "bert@corp.example").await;
    create_user(&app, "bob", "bob@alpha.example").await;
    create_user(&app, "carol", "Lina@Corp.example").await;
    let names = |search: &'static str| {
        let app = &app;
        async move {
            let page = admin_json(
                app,
                Method::GET,
                &format!("{USERS}?search={}", urlencoding(search)),
                None,
            )
            .await;
            let mut names: Vec<String> = page["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| s(u, "username").to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names("AL").await, ["Albert", "alice"]);
    assert_eq!(names("al").await, ["Albert", "alice"]);
    assert_eq!(names("lina@").await, ["carol"]);
    assert_eq!(names("BOB@ALPHA").await, ["bob"]);
    assert_eq!(
        names("corp").await,
        Vec::<String>::new(),
        "a prefix, not a substring"
    );
    assert_eq!(names("zz").await, Vec::<String>::new());
    assert_eq!(names(" ").await.len(), 4, "an empty search lists everyone");
    // Searching and paging together.
    let page = admin_json(
        &app,
        Method::GET,
        &format!("{USERS}?search=a&limit=1"),
        None,
    )
    .await;
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let next = s(&page, "next_cursor").to_string();
    let page = admin_json(
        &app,
        Method::GET,
        &format!("{USERS}?search=a&limit=1&cursor={next}"),
        None,
    )
    .await;
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn an_admin_patches_a_user_and_lists_and_ends_their_sessions() {
    let app = spawn_app_with(Options {
        admin_token: true,
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let hank = create_user(&app, "hank", "hank@example.com").await;
    let hank_path = format!("{USERS}/hank");
    let by_id = format!("{USERS}/{}", s(&hank, "id"));

    // Profile, roles, email_verified; `null` clears a name.
    let u = admin_json(
        &app,
        Method::PATCH,
        &hank_path,
        Some(json!({"first_name": "Hank", "last_name": "Hill", "roles": ["ops", "billing"], "email_verified": true})),
    )
    .await;
    assert_eq!(
        (
            &u["first_name"],
            &u["last_name"],
            &u["roles"],
            &u["email_verified"]
        ),
        (
            &json!("Hank"),
            &json!("Hill"),
            &json!(["ops", "billing"]),
            &json!(true)
        )
    );
    let u = admin_json(
        &app,
        Method::PATCH,
        &by_id,
        Some(json!({"last_name": null})),
    )
    .await;
    assert_eq!(u["last_name"], Value::Null);
    assert_eq!(u["first_name"], "Hank", "an absent field stays");
    let shown = admin_json(&app, Method::GET, &by_id, None).await;
    assert_eq!(shown, u, "by id and by username alike");
    for bad in [
        json!({"roles": ["has space"]}),
        json!({"email": "not an address"}),
        json!({"password": "x"}),
        json!({"username": "renamed"}),
    ] {
        let r = app
            .admin(Method::PATCH, &hank_path, Some(bad.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = app
        .admin(Method::PATCH, &format!("{USERS}/nobody"), Some(json!({})))
        .await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");

    // The tokens carry what was set.
    let laptop = login_as_agent(&app, "hank", "HankLaptop/1.0").await;
    let claims = crate::helpers::claims_of(s(&laptop, "access_token"));
    assert_eq!(claims["roles"], json!(["ops", "billing"]));
    assert_eq!(claims["given_name"], "Hank");
    assert_eq!(claims["email_verified"], true);
    clock(&app).advance(60);
    let phone = login_as_agent(&app, "hank", "HankPhone/2.0").await;
    clock(&app).advance(60);
    let refreshed_at = gatehouse_core::clock::Clock::now(clock(&app));
    let r = app.refresh("default", s(&laptop, "refresh_token")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let laptop: Value = r.json().await.unwrap();

    let sessions = admin_json(&app, Method::GET, &format!("{hank_path}/sessions"), None).await;
    let sessions = sessions["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let (newest, oldest) = (&sessions[0], &sessions[1]);
    assert_eq!(newest["user_agent"], "HankPhone/2.0", "newest first");
    assert_eq!(oldest["user_agent"], "HankLaptop/1.0");
    for session in &sessions {
        assert_eq!(session["ip"], "127.0.0.1");
        assert_eq!(session["client_id"], "gatehouse");
        assert!(session["created_at"].is_i64(), "{session}");
        assert!(session.get("current").is_none(), "{session}");
    }
    assert_eq!(
        oldest["created_at"].as_i64().unwrap() + 60,
        newest["created_at"].as_i64().unwrap()
    );
    assert_eq!(newest["last_refreshed_at"], Value::Null);
    assert_eq!(oldest["last_refreshed_at"].as_i64(), Some(refreshed_at));

    // End one: that one's refresh is refused, the other goes on.
    let phone_sid = s(newest, "id");
    let r = app
        .admin(
            Method::DELETE,
            &format!("{hank_path}/sessions/{phone_sid}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(refresh_status(&app, &phone).await, StatusCode::BAD_REQUEST);
    assert_eq!(session_check(&app, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(session_check(&app, &laptop).await, StatusCode::OK);
    // Another user's session is not hank's to end.
    let ida = app.user_with_tokens("default", "ida").await;
    let ida_sid = crate::helpers::claims_of(s(&ida, "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .admin(
            Method::DELETE,
            &format!("{hank_path}/sessions/{ida_sid}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(refresh_status(&app, &ida).await, StatusCode::OK);

    // End all.
    login_as_agent(&app, "hank", "HankTablet/3.0").await;
    let ended = admin_json(&app, Method::DELETE, &format!("{hank_path}/sessions"), None).await;
    assert_eq!(ended, json!({"revoked": 2}));
    let r = app.refresh("default", s(&laptop, "refresh_token")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let left = admin_json(&app, Method::GET, &format!("{hank_path}/sessions"), None).await;
    assert_eq!(left["sessions"], json!([]));
}

fn clock(app: &TestApp) -> &gatehouse_core::clock::ManualClock {
    app.clock.as_deref().unwrap()
}

#[tokio::test]
async fn disabling_refuses_a_user_at_once_and_deleting_frees_the_name_on_every_backend() {
    on_every_backend(|backend, app| async move {
        let t = app.user_with_tokens("default", "ivy").await;
        let other = tokens(&app, "ivy", PASSWORD).await;
        assert_eq!(session_check(&app, &t).await, StatusCode::OK, "{backend}");

        let u = admin_json(
            &app,
            Method::PATCH,
            &format!("{USERS}/ivy"),
            Some(json!({"disabled": true})),
        )
        .await;
        assert_eq!(u["disabled"], true, "{backend}");

        // Refresh, the session check and the user's own routes: refused.
        let r = app.refresh("default", s(&t, "refresh_token")).await;
        assert_eq!(
            error_code(r, StatusCode::BAD_REQUEST).await,
            "invalid_grant",
            "{backend}"
        );
        assert_eq!(
            refresh_status(&app, &other).await,
            StatusCode::BAD_REQUEST,
            "{backend}"
        );
        assert_eq!(
            session_check(&app, &t).await,
            StatusCode::UNAUTHORIZED,
            "{backend}"
        );
        let r = app
            .get_with_bearer("/t/default/me", s(&t, "access_token"))
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend}");
        // As documented: an access token already out passes offline
        // checks until it expires.
        let r = app
            .get_with_bearer("/t/default/auth", s(&t, "access_token"))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{backend}");

        // The right password: 403 account_disabled; a wrong one: as anyone.
        let r = login_with(&app, "ivy", PASSWORD).await;
        assert_eq!(
            error_code(r, StatusCode::FORBIDDEN).await,
            "account_disabled",
            "{backend}"
        );
        let r = login_with(&app, "ivy", "not the password").await;
        assert_eq!(
            error_code(r, StatusCode::UNAUTHORIZED).await,
            "invalid_grant",
            "{backend}"
        );
        let r = app
            .post_form(
                "/t/default/token",
                &[
                    ("grant_type", "password"),
                    ("username", "ivy"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{backend}: password grant"
        );

        // Enabled again: a new login works; the old sessions stay ended.
        let u = admin_json(
            &app,
            Method::PATCH,
            &format!("{USERS}/ivy"),
            Some(json!({"disabled": false})),
        )
        .await;
        assert_eq!(u["disabled"], false);
        let again = tokens(&app, "ivy", PASSWORD).await;
        assert_eq!(refresh_status(&app, &t).await, StatusCode::BAD_REQUEST);

        // Deleted: sessions end, the username and the email are free.
        let old_id = s(&u, "id").to_string();
        let r = app
            .admin(Method::DELETE, &format!("{USERS}/ivy"), None)
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{backend}");
        assert_eq!(
            refresh_status(&app, &again).await,
            StatusCode::BAD_REQUEST,
            "{backend}"
        );
        let r = app.register("default", "ivy").await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{backend}: the name is free"
        );
        let new: Value = r.json().await.unwrap();
        assert_ne!(s(&new, "id"), old_id, "{backend}");
        let fresh = tokens(&app, "ivy", PASSWORD).await;
        assert_eq!(
            crate::helpers::claims_of(s(&fresh, "access_token"))["sub"],
            s(&new, "id")
        );
        let r = app
            .admin(Method::DELETE, &format!("{USERS}/{old_id}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend}");
        println!("{backend}: disabled and deleted users refused at once; the name free again");
    })
    .await;
}

#[tokio::test]
async fn users_see_change_and_end_their_own_profile_and_sessions() {
    let app = spawn_app().await;
    let here = app.user_with_tokens("default", "jan").await;
    let there = login_as_agent(&app, "jan", "JanPhone/1.0").await;
    let at = s(&here, "access_token").to_string();

    let me: Value = app
        .get_with_bearer("/t/default/me", &at)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&me["username"], &me["email"], &me["disabled"]),
        (&json!("jan"), &json!("jan@example.com"), &json!(false))
    );
    let patch = |body: Value| {
        let app = &app;
        let at = at.clone();
        async move {
            app.client
                .patch(format!("{}/t/default/me", app.base))
                .bearer_auth(at)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = patch(json!({"first_name": "Jan", "last_name": "Jansen"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (&me["first_name"], &me["last_name"]),
        (&json!("Jan"), &json!("Jansen"))
    );
    // What only an admin may change is refused, not ignored.
    for bad in [
        json!({"roles": ["admin"]}),
        json!({"disabled": false}),
        json!({"email_verified": true}),
        json!({"username": "root"}),
    ] {
        let r = patch(bad.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = app.get("/t/default/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));

    let list: Value = app
        .get_with_bearer("/t/default/sessions", &at)
        .await
        .json()
        .await
        .unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{sessions:?}");
    let other = sessions.iter().find(|s| s["current"] != true).unwrap();
    assert_eq!(other["user_agent"], "JanPhone/1.0");

    // Another user's session cannot be ended from here.
    let kim = app.user_with_tokens("default", "kim").await;
    let kim_sid = crate::helpers::claims_of(s(&kim, "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let end = |sid: String| {
        let app = &app;
        let at = at.clone();
        async move {
            app.client
                .delete(format!("{}/t/default/sessions/{sid}", app.base))
                .bearer_auth(at)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(end(kim_sid).await, StatusCode::NOT_FOUND);
    assert_eq!(refresh_status(&app, &kim).await, StatusCode::OK);

    assert_eq!(
        end(s(other, "id").to_string()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(refresh_status(&app, &there).await, StatusCode::BAD_REQUEST);
    // Ending the current one too: this token's routes stop working.
    let sid = s(current[0], "id").to_string();
    assert_eq!(end(sid).await, StatusCode::NO_CONTENT);
    let r = app.get_with_bearer("/t/default/me", &at).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tenant_settings_are_checked_and_required_waits_for_a_verified_address() {
    let app = spawn_app().await;
    let listed: Value = app
        .admin(Method::GET, "/admin/tenants", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["email_verification"], "optional");
    assert_eq!(listed[0]["mail_from"], Value::Null);
    for bad in [
        json!({"email_verification": "sometimes"}),
        json!({"mail_from": "no address here"}),
        json!({"mail_from": "a@b\r\nBcc: x@y"}),
        json!({"unknown": 1}),
    ] {
        let r = app
            .admin(Method::PATCH, "/admin/tenants/default", Some(bad.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // A bad value beside a good one changes nothing.
    for bad in [
        json!({"display_name": "Renamed", "email_verification": "sometimes"}),
        json!({"display_name": "Renamed", "mail_from": "nobody"}),
    ] {
        let r = app
            .admin(Method::PATCH, "/admin/tenants/default", Some(bad.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let listed: Value = app
        .admin(Method::GET, "/admin/tenants", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["display_name"], "default", "{listed}");
    let r = app
        .admin(
            Method::PATCH,
            "/admin/tenants/nope",
            Some(json!({"email_verification": "off"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let t = set_tenant(
        &app,
        "default",
        json!({"email_verification": "required", "mail_from": "Acme <a@acme.test>"}),
    )
    .await;
    assert_eq!(
        (&t["email_verification"], &t["mail_from"]),
        (&json!("required"), &json!("Acme <a@acme.test>"))
    );
    let t = set_tenant(&app, "default", json!({"mail_from": null})).await;
    assert_eq!(t["mail_from"], Value::Null);
    assert_eq!(t["email_verification"], "required", "absent stays");

    // An admin-made user under `required` waits for the address too,
    // until an admin marks it verified.
    create_user(&app, "lee", "lee@example.com").await;
    let r = login_with(&app, "lee", PASSWORD).await;
    assert_eq!(
        error_code(r, StatusCode::FORBIDDEN).await,
        "email_not_verified"
    );
    admin_json(
        &app,
        Method::PATCH,
        &format!("{USERS}/lee"),
        Some(json!({"email_verified": true})),
    )
    .await;
    let t = tokens(&app, "lee", PASSWORD).await;
    assert_eq!(
        crate::helpers::claims_of(s(&t, "access_token"))["email_verified"],
        true
    );
    // `off`: no gate at login.
    set_tenant(&app, "default", json!({"email_verification": "off"})).await;
    create_user(&app, "max", "max@example.com").await;
    tokens(&app, "max", PASSWORD).await;
}
