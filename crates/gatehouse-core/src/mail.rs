//! Mail the domain asks to send: what kind, to whom, with which link. How
//! it is rendered and delivered (SMTP through a bounded queue with
//! retries, or the log when no server is configured) is the server's; core
//! only hands mails over, and never waits for them.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// What a mail is for; each kind has its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// "Confirm your address": a link to `{iss}/verify-email?token=…`.
    VerifyEmail,
    /// "Reset your password": a link to `{iss}/password/reset?token=…`.
    ResetPassword,
    /// "Your password was changed" (after a reset or a change); no link.
    PasswordChanged,
    /// "You have been invited": a link to set a first password.
    Invite,
}

impl MailKind {
    /// The template's name (`verify_email`, …): file names of overrides.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::ResetPassword => "reset_password",
            MailKind::PasswordChanged => "password_changed",
            MailKind::Invite => "invite",
        }
    }

    pub const ALL: [MailKind; 4] = [
        MailKind::VerifyEmail,
        MailKind::ResetPassword,
        MailKind::PasswordChanged,
        MailKind::Invite,
    ];
}

/// One mail. `to: None` is a decoy: the request that made it did the same
/// work as for a real account (so neither its answer nor its timing says
/// the account is missing), and the sender drops it without sending.
pub struct Mail {
    pub kind: MailKind,
    pub to: Option<String>,
    /// The tenant's `mail_from`, or the server's default when `None`.
    pub from: Option<String>,
    /// What the mail calls the service (the tenant's display name).
    pub tenant_name: String,
    /// The user's name as greeted.
    pub username: String,
    /// The single-use link, if the kind has one. A secret until it is used.
    pub link: Option<SecretString>,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("tenant_name", &self.tenant_name)
            .field("link", &self.link.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Where mails go. `send` only hands the mail over: it never blocks on a
/// mail server, and never fails the request that asked (a full queue drops
/// the mail and says so in the log and the counters).
pub trait Mailer: Send + Sync {
    fn send(&self, mail: Mail);
}

/// The mailer of a node without SMTP: each mail, link included, goes to the
/// log, so a first run still works end to end. The server warns loudly at
/// start when this is in use.
#[derive(Debug, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) {
        let Some(to) = &mail.to else {
            return;
        };
        tracing::warn!(
            kind = mail.kind.as_str(),
            %to,
            tenant = %mail.tenant_name,
            link = mail.link.as_ref().map(|l| l.expose_secret()).unwrap_or("-"),
            "no SMTP server configured (GATEHOUSE_SMTP_URL): this mail was not sent, only logged"
        );
    }
}
