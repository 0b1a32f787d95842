//! The mails' words: a subject, a text body and an HTML body per
//! [`MailKind`], built into the binary from `templates/mail/` and
//! overridable file by file from a directory (`GATEHOUSE_MAIL_TEMPLATES`)
//! holding files of the same names: `reset_password.subject.txt`,
//! `reset_password.txt`, `reset_password.html`, ….
//!
//! A template is text with `{{name}}` placeholders: `{{tenant}}` (the
//! tenant's display name), `{{username}}`, `{{email}}` (the recipient) and,
//! in the kinds that carry one, `{{link}}`. Values are HTML-escaped in the
//! HTML body and inserted as they are in the text body; the subject is one
//! line. Templates are checked once, at start: an unknown placeholder, or a
//! link kind whose body lost its `{{link}}`, stops the node with the file's
//! name, rather than sending broken mails later.

use std::path::Path;

use gatehouse_core::mail::{Mail, MailKind};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header};
use secrecy::ExposeSecret;

/// The three files of one kind, as written.
struct Sources {
    subject: &'static str,
    text: &'static str,
    html: &'static str,
}

/// The built-in templates (crates/gatehouse-server/templates/mail/).
fn builtin(kind: MailKind) -> Sources {
    macro_rules! files {
        ($name:literal) => {
            Sources {
                subject: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/templates/mail/",
                    $name,
                    ".subject.txt"
                )),
                text: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/templates/mail/",
                    $name,
                    ".txt"
                )),
                html: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/templates/mail/",
                    $name,
                    ".html"
                )),
            }
        };
    }
    match kind {
        MailKind::VerifyEmail => files!("verify_email"),
        MailKind::ResetPassword => files!("reset_password"),
        MailKind::PasswordChanged => files!("password_changed"),
        MailKind::Invite => files!("invite"),
    }
}

/// Whether a kind's mail carries a link (and so its bodies must show it).
fn has_link(kind: MailKind) -> bool {
    !matches!(kind, MailKind::PasswordChanged)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Tenant,
    Username,
    Email,
    Link,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Var(Var),
}

/// One parsed template.
#[derive(Debug, Clone)]
struct Template(Vec<Piece>);

impl Template {
    /// Splits `{{name}}`s out of `source`; `file` names it in errors.
    fn parse(source: &str, file: &str, kind: MailKind) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                return Err(format!("mail template {file}: a `{{{{` is never closed"));
            };
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let name = rest[start + 2..start + 2 + len].trim();
            let var = match name {
                "tenant" => Var::Tenant,
                "username" => Var::Username,
                "email" => Var::Email,
                "link" if has_link(kind) => Var::Link,
                "link" => {
                    return Err(format!(
                        "mail template {file}: a {} mail has no {{{{link}}}}",
                        kind.as_str()
                    ));
                }
                other => {
                    return Err(format!(
                        "mail template {file}: unknown placeholder {{{{{other}}}}} \
                         (known: tenant, username, email, link)"
                    ));
                }
            };
            pieces.push(Piece::Var(var));
            rest = &rest[start + 2 + len + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Self(pieces))
    }

    fn uses(&self, var: Var) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Piece::Var(v) if *v == var))
    }

    fn render(&self, values: &Values<'_>, html: bool) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => {
                    let value = values.get(*v);
                    if html {
                        escape_html(value, &mut out);
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }
}

fn escape_html(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

struct Values<'a> {
    tenant: &'a str,
    username: &'a str,
    email: &'a str,
    link: &'a str,
}

impl Values<'_> {
    fn get(&self, var: Var) -> &str {
        match var {
            Var::Tenant => self.tenant,
            Var::Username => self.username,
            Var::Email => self.email,
            Var::Link => self.link,
        }
    }
}

/// The subject, text and HTML templates of one kind.
#[derive(Debug, Clone)]
struct KindTemplates {
    subject: Template,
    text: Template,
    html: Template,
}

/// Every kind's templates, checked. Cheap to clone (a few short strings).
#[derive(Debug, Clone)]
pub struct Templates {
    kinds: Vec<(MailKind, KindTemplates)>,
}

impl Templates {
    /// The built-in templates, overridden by the files of `dir` that exist.
    /// A `dir` that cannot be read, or a template that does not check, is
    /// an error naming the file.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            return Err(format!(
                "mail_templates: {} is not a directory",
                dir.display()
            ));
        }
        let mut kinds = Vec::new();
        for kind in MailKind::ALL {
            let sources = builtin(kind);
            let name = kind.as_str();
            let read = |suffix: &str, builtin: &str| -> Result<(String, String), String> {
                let file = format!("{name}{suffix}");
                match dir.map(|d| d.join(&file)) {
                    Some(path) if path.exists() => std::fs::read_to_string(&path)
                        .map(|text| (path.display().to_string(), text))
                        .map_err(|e| {
                            format!("mail template {} cannot be read: {e}", path.display())
                        }),
                    _ => Ok((format!("{file} (built in)"), builtin.to_string())),
                }
            };
            let (file, text) = read(".subject.txt", sources.subject)?;
            let subject = Template::parse(&text, &file, kind)?;
            if subject.uses(Var::Link) {
                return Err(format!(
                    "mail template {file}: the link is a secret; it has no place in a subject"
                ));
            }
            let (file, text) = read(".txt", sources.text)?;
            let text_t = Template::parse(&text, &file, kind)?;
            if has_link(kind) && !text_t.uses(Var::Link) {
                return Err(format!("mail template {file} must show the {{{{link}}}}"));
            }
            let (file, html) = read(".html", sources.html)?;
            let html_t = Template::parse(&html, &file, kind)?;
            if has_link(kind) && !html_t.uses(Var::Link) {
                return Err(format!("mail template {file} must show the {{{{link}}}}"));
            }
            kinds.push((
                kind,
                KindTemplates {
                    subject,
                    text: text_t,
                    html: html_t,
                },
            ));
        }
        Ok(Self { kinds })
    }

    fn of(&self, kind: MailKind) -> Option<&KindTemplates> {
        self.kinds.iter().find(|(k, _)| *k == kind).map(|(_, t)| t)
    }

    /// The subject, text and HTML of `mail` (its `to` as `{{email}}`).
    pub fn render(&self, mail: &Mail) -> Option<Rendered> {
        let t = self.of(mail.kind)?;
        let values = Values {
            tenant: &mail.tenant_name,
            username: &mail.username,
            email: mail.to.as_deref().unwrap_or(""),
            link: mail.link.as_ref().map(|l| l.expose_secret()).unwrap_or(""),
        };
        // One line: a value with a line break cannot start a header of its own.
        let subject = t
            .subject
            .render(&values, false)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string();
        Some(Rendered {
            subject,
            text: t.text.render(&values, false),
            html: t.html.render(&values, true),
        })
    }

    /// The message to send: `from` (the tenant's `mail_from`, else
    /// `default_from`), `to`, the subject and both bodies as
    /// `multipart/alternative`. `Err` says why it cannot be built (a bad
    /// address); no secret is in it.
    pub fn compose(&self, mail: &Mail, default_from: &Mailbox) -> Result<Message, String> {
        let to: Mailbox = mail
            .to
            .as_deref()
            .ok_or("a decoy has no recipient")?
            .parse()
            .map_err(|_| "the recipient's address cannot be used in a mail".to_string())?;
        let from = match mail.from.as_deref().map(str::parse::<Mailbox>) {
            Some(Ok(from)) => from,
            Some(Err(_)) => {
                tracing::warn!(
                    tenant = %mail.tenant_name,
                    "the tenant's mail_from is not a valid address; sending from smtp_from"
                );
                default_from.clone()
            }
            None => default_from.clone(),
        };
        let rendered = self
            .render(mail)
            .ok_or("no template for this kind of mail")?;
        // RFC 5322 §3.6.4: unique, and on the sender's domain.
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), from.email.domain());
        Message::builder()
            .from(from)
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(message_id))
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| format!("the mail cannot be built: {e}"))
    }
}

/// One mail's words.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn mail(kind: MailKind) -> Mail {
        Mail {
            kind,
            to: Some("bob@example.test".into()),
            from: None,
            tenant_name: "Acme <R&D>".into(),
            username: "bob\"'".into(),
            link: Some(SecretString::from(
                "https://id.example/t/acme/password/reset?token=abc&x=<1>".to_string(),
            )),
        }
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let t = Templates::load(None).unwrap();
        let r = t.render(&mail(MailKind::ResetPassword)).unwrap();
        assert_eq!(r.subject, "Reset your password for Acme <R&D>");
        assert!(
            r.text
                .contains("https://id.example/t/acme/password/reset?token=abc&x=<1>")
        );
        assert!(r.text.contains("Hello bob\"',"));
        assert!(r.html.contains(
            "href=\"https://id.example/t/acme/password/reset?token=abc&amp;x=&lt;1&gt;\""
        ));
        assert!(r.html.contains("Acme &lt;R&amp;D&gt;"));
        assert!(r.html.contains("bob&quot;&#39;"));
        assert!(!r.html.contains("<R&D>"));
    }

    #[test]
    fn every_kind_renders_and_composes() {
        let t = Templates::load(None).unwrap();
        let from: Mailbox = "Gatehouse <no-reply@localhost>".parse().unwrap();
        for kind in MailKind::ALL {
            let mut m = mail(kind);
            if kind == MailKind::PasswordChanged {
                m.link = None;
            }
            let r = t.render(&m).unwrap();
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'));
            let message = t.compose(&m, &from).unwrap();
            let raw = String::from_utf8(message.formatted()).unwrap();
            assert!(raw.contains("multipart/alternative"), "{raw}");
            assert!(raw.contains("Message-ID: <"), "{raw}");
        }
    }

    #[test]
    fn a_line_break_in_a_value_stays_out_of_the_headers() {
        let t = Templates::load(None).unwrap();
        let mut m = mail(MailKind::Invite);
        m.tenant_name = "Acme\r\nBcc: eve@example.test".into();
        let r = t.render(&m).unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    #[test]
    fn overrides_replace_files_by_name_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("invite.subject.txt"),
            "Join {{ tenant }} now",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let r = t.render(&mail(MailKind::Invite)).unwrap();
        assert_eq!(r.subject, "Join Acme <R&D> now");
        assert!(
            r.text.contains("you have been invited"),
            "the rest stays built in"
        );

        for (file, text, says) in [
            ("invite.txt", "Hi {{name}}", "unknown placeholder {{name}}"),
            ("invite.html", "<p>no link</p>", "must show the {{link}}"),
            ("password_changed.txt", "{{link}}", "has no {{link}}"),
            (
                "reset_password.subject.txt",
                "{{link}}",
                "no place in a subject",
            ),
            ("verify_email.txt", "{{link", "never closed"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(file), text).unwrap();
            let e = Templates::load(Some(dir.path())).unwrap_err();
            assert!(e.contains(says) && e.contains(file), "{file}: {e}");
        }
        let e = Templates::load(Some(Path::new("/nonexistent/mail"))).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }
}
