//! The account pages a mailed link opens: the result of an email
//! verification, and the form that sets a new password (a reset or an
//! invitation) with its result. Same look, escaping and CSRF handling as
//! the sign-in page.

use axum::http::StatusCode;

use super::{Page, escape, sentence_case};

/// "Your address is confirmed", or why the link did not work.
pub(crate) fn verified(tenant: &str, outcome: Result<&str, &str>) -> Page {
    match outcome {
        Ok(email) => {
            let title = "Email address confirmed";
            let body = format!(
                "<p class=\"lead\">{} is confirmed for your {} account. You can close this window.</p>",
                escape(email),
                escape(tenant)
            );
            Page::new(StatusCode::OK, title, card(title, &body))
        }
        Err(why) => unusable(
            why,
            "Sign in and ask for a new confirmation mail if you still need one.",
        ),
    }
}

/// A reset or invitation link that cannot be used (used, expired, not
/// valid): why, and what to do instead, not the sign-in error page.
pub(crate) fn reset_unusable(why: &str) -> Page {
    unusable(
        why,
        "Ask the application you came from to mail you a new link.",
    )
}

fn unusable(why: &str, next: &str) -> Page {
    let title = "This link cannot be used";
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>\n<p>{}</p>",
        escape(&sentence_case(why)),
        escape(next)
    );
    Page::new(StatusCode::BAD_REQUEST, title, card(title, &body))
}

/// The new-password form of a reset or invitation link.
pub(crate) fn reset_form(
    status: StatusCode,
    tenant: &str,
    action: &str,
    token: &str,
    csrf_token: &str,
    error: Option<&str>,
    min_chars: u32,
) -> Page {
    let (alert, invalid) = match error {
        Some(message) => (
            format!(
                "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n",
                escape(message)
            ),
            " aria-invalid=\"true\" aria-describedby=\"form-error\"",
        ),
        None => (String::new(), ""),
    };
    let body = format!(
        "<p class=\"lead\">for your {tenant} account</p>\n{alert}\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <label for=\"new_password\">New password</label>\n\
         <input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" \
         minlength=\"{min_chars}\" required autofocus{invalid}>\n\
         <p class=\"hint\">At least {min_chars} characters, not a common password.</p>\n\
         <button type=\"submit\">Set password</button>\n\
         </form>",
        tenant = escape(tenant),
        action = escape(action),
        token = escape(token),
        csrf = escape(csrf_token),
    );
    Page::new(
        status,
        "Choose a new password",
        card("Choose a new password", &body),
    )
}

/// After the new password was set.
pub(crate) fn reset_done(tenant: &str) -> Page {
    let body = format!(
        "<p class=\"lead\">Your {} password is changed, and every sign-in has ended. \
         Sign in again with the new password.</p>",
        escape(tenant)
    );
    Page::new(
        StatusCode::OK,
        "Password changed",
        card("Password changed", &body),
    )
}

fn card(title: &str, body: &str) -> String {
    format!(
        "<main aria-labelledby=\"title\">\n<h1 id=\"title\">{}</h1>\n{body}\n</main>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = reset_form(StatusCode::OK, "<b>", "/x", "\"t", "c", Some("<i>"), 8);
        assert!(!page.body.contains("<b>") && !page.body.contains("<i>"));
        assert!(page.body.contains("value=\"&quot;t\""));
        assert!(page.body.contains("<label for=\"new_password\">"));
    }
}
