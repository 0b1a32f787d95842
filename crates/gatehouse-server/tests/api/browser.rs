//! The hosted sign-in page in a real browser: Debian's headless Chromium
//! driven by Playwright (`tests/js/browser_sign_in.mjs`). The script serves
//! the client's redirect URI on 127.0.0.1, signs in through the form (by
//! its labels), checks the wrong-password alert, exchanges the code with
//! PKCE, and checks that a second authorize in the same browser skips the
//! form. Screenshots of the sign-in page and of the wrong-password state
//! are kept under `target/test-artifacts/browser/`.
//!
//! The password-reset page the same way (`tests/js/browser_reset_password.mjs`):
//! the link comes from the mail a real SMTP server received (`mail_sink`);
//! the browser sets a new password through the form, sees a second use of
//! the link refused, and signs in with the new password on the hosted page.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium`) and `npm ci` done in
//! `tests/js` (playwright-core); `.ci/run` installs both and sets
//! `GATEHOUSE_TEST_REQUIRE_BROWSER=1`, so in CI they must be there.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, Options, PASSWORD, spawn_app, spawn_app_with};
use crate::mail_sink::{SmtpSink, aiosmtpd_available, link_in, to_sink};
use crate::oauth_interop::{JS_DIR, node_module_available, run_script};

const CHROMIUM: &str = "/usr/bin/chromium";
const REQUIRE: &str = "GATEHOUSE_TEST_REQUIRE_BROWSER";

/// `target/test-artifacts/browser`, from where this test binary lives
/// (`target/<profile>/deps/`), so it is right whatever CARGO_TARGET_DIR is.
fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("test-artifacts").join("browser")
}

async fn browser_available() -> bool {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os(REQUIRE).is_none(),
            "{CHROMIUM} is required ({REQUIRE} is set): apt-get install chromium chromium-driver"
        );
        eprintln!("skipped: {CHROMIUM} not found");
        return false;
    }
    node_module_available("playwright-core", REQUIRE).await
}

#[tokio::test]
async fn browser_signs_in_on_the_hosted_page_and_is_remembered() {
    if !browser_available().await {
        return;
    }
    let app = spawn_app().await;
    let r = app
        .admin(
            Method::PATCH,
            "/admin/tenants/default",
            Some(json!({"display_name": "Acme Orders"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.register("default", "ada").await.status(),
        StatusCode::CREATED
    );
    let dir = artifacts_dir();
    let config = json!({
        "base": app.base,
        "tenant": "default",
        "admin_token": ADMIN_TOKEN,
        "username": "ada",
        "password": PASSWORD,
        "artifacts_dir": dir,
        "chromium": CHROMIUM,
    });
    let script = Path::new(JS_DIR).join("browser_sign_in.mjs");
    let summary = run_script(
        "the Chromium sign-in test",
        "node",
        &[script.to_str().unwrap(), &config.to_string()],
        JS_DIR,
    )
    .await;
    for (name, path) in summary["screenshots"].as_object().unwrap() {
        let path = Path::new(path.as_str().unwrap());
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "screenshot {name} missing or empty: {path:?}");
        println!("screenshot ({name}): {}", path.display());
    }
    println!("Chromium {}", summary["chromium"]);
}

#[tokio::test]
async fn browser_resets_a_password_from_the_mailed_link_and_signs_in_with_it() {
    if !browser_available().await || !aiosmtpd_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path()).await;
    let app = spawn_app_with(Options {
        admin_token: true,
        tweak: Some(to_sink(&sink)),
        ..Options::default()
    })
    .await;
    let r = app
        .admin(
            Method::PATCH,
            "/admin/tenants/default",
            Some(json!({"display_name": "Acme Orders"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.register("default", "ada").await.status(),
        StatusCode::CREATED
    );
    let r = app
        .post_json(
            "/t/default/password/forgot",
            &json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // The sign-up's verification mail, then the reset link.
    let mail = sink.message(2).await;
    assert_eq!(mail["to"], "ada@example.com");
    let link = link_in(&mail, "/password/reset");

    let new_password = "a new password for the browser";
    let config = json!({
        "base": app.base,
        "tenant": "default",
        "admin_token": ADMIN_TOKEN,
        "username": "ada",
        "old_password": PASSWORD,
        "new_password": new_password,
        "reset_link": link,
        "artifacts_dir": artifacts_dir(),
        "chromium": CHROMIUM,
    });
    let script = Path::new(JS_DIR).join("browser_reset_password.mjs");
    let summary = run_script(
        "the Chromium password-reset test",
        "node",
        &[script.to_str().unwrap(), &config.to_string()],
        JS_DIR,
    )
    .await;
    for (name, path) in summary["screenshots"].as_object().unwrap() {
        let path = Path::new(path.as_str().unwrap());
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "screenshot {name} missing or empty: {path:?}");
        println!("screenshot ({name}): {}", path.display());
    }
    // What the browser did, seen from the server: the new password logs
    // in, the old one does not, and the notice went to the mailbox.
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": new_password}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_json(
            "/t/default/login",
            &json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let notice = sink.message(3).await;
    assert!(
        notice["subject"]
            .as_str()
            .unwrap()
            .starts_with("Your password for Acme Orders was changed"),
        "{notice}"
    );
    println!("Chromium {}", summary["chromium"]);
}
