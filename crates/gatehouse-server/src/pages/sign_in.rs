//! The sign-in form of the authorization endpoint: the tenant's display
//! name, the application asking, two labelled fields and one button. The
//! authorization request travels in hidden fields and is checked again
//! when the form comes back; the CSRF token is the one in the cookie.

use axum::http::StatusCode;
use gatehouse_core::service::authorize::AuthorizationRequest;

use super::{Page, escape};

/// What the form shows and carries.
pub(crate) struct SignInForm<'a> {
    /// The tenant's display name.
    pub tenant: &'a str,
    /// The registered client's name.
    pub client: &'a str,
    /// `{iss}/authorize`.
    pub action: String,
    pub request: &'a AuthorizationRequest,
    pub csrf_token: &'a str,
    /// Filled in again after a failure, or from `login_hint`.
    pub username: Option<&'a str>,
    /// What went wrong last time, shown as an alert.
    pub error: Option<&'a str>,
}

pub(crate) fn page(status: StatusCode, form: &SignInForm<'_>) -> Page {
    let r = form.request;
    let carried = [
        ("response_type", &r.response_type),
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect_uri),
        ("scope", &r.scope),
        ("state", &r.state),
        ("nonce", &r.nonce),
        ("code_challenge", &r.code_challenge),
        ("code_challenge_method", &r.code_challenge_method),
        ("prompt", &r.prompt),
        ("max_age", &r.max_age),
        ("response_mode", &r.response_mode),
        ("login_hint", &r.login_hint),
    ];
    let mut hidden = String::new();
    for (name, value) in carried {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(value)
            ));
        }
    }
    hidden.push_str(&format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\n",
        escape(form.csrf_token)
    ));
    let (alert, invalid) = match form.error {
        Some(message) => (
            format!(
                "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n",
                escape(message)
            ),
            " aria-invalid=\"true\" aria-describedby=\"form-error\"",
        ),
        None => (String::new(), ""),
    };
    let username = form.username.map(escape).unwrap_or_default();
    // The password field takes the focus when the username is known.
    let (focus_user, focus_password) = if username.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let body = format!(
        "<main aria-labelledby=\"title\">\n\
         <h1 id=\"title\">Sign in to {tenant}</h1>\n\
         <p class=\"lead\">to continue to <strong>{client}</strong></p>\n\
         {alert}\
         <form method=\"post\" action=\"{action}\">\n\
         {hidden}\
         <label for=\"username\">Username or email</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\"{invalid}{focus_user}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required{invalid}{focus_password}>\n\
         <button type=\"submit\">Sign in</button>\n\
         </form>\n</main>",
        tenant = escape(form.tenant),
        client = escape(form.client),
        action = escape(&form.action),
    );
    Page::new(status, format!("Sign in to {}", form.tenant), body)
}

/// The page after RP-initiated logout when no redirect was asked for.
pub(crate) fn signed_out(tenant: &str) -> Page {
    let body = format!(
        "<main aria-labelledby=\"title\">\n<h1 id=\"title\">You are signed out</h1>\n\
         <p class=\"lead\">You have signed out of {}. You can close this window.</p>\n</main>",
        escape(tenant)
    );
    Page::new(StatusCode::OK, "Signed out", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped_and_the_request_travels_hidden() {
        let request = AuthorizationRequest {
            client_id: Some("c".into()),
            state: Some("\"><script>alert(1)</script>".into()),
            ..Default::default()
        };
        let form = SignInForm {
            tenant: "Acme <Corp>",
            client: "App",
            action: "http://127.0.0.1/t/acme/authorize".into(),
            request: &request,
            csrf_token: "tok",
            username: Some("a\"b"),
            error: Some("The username or password is incorrect."),
        };
        let body = page(StatusCode::OK, &form).body;
        assert!(!body.contains("<script>"));
        assert!(body.contains("Acme &lt;Corp&gt;"));
        assert!(body.contains("name=\"state\" value=\"&quot;&gt;&lt;script&gt;"));
        assert!(body.contains("value=\"a&quot;b\""));
        assert!(body.contains("role=\"alert\""));
        assert!(body.contains("<label for=\"password\">"));
    }
}
