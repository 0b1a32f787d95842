//! The SMTP side: what `GATEHOUSE_SMTP_URL` means, and the lettre transport
//! it builds. Every error this module shows is fit for a log line or the
//! public `/readyz`: never the password, never the mail server's own
//! words (a rejection may quote a recipient's address).
//!
//! | URL | connection | default port |
//! |---|---|---|
//! | `smtp://host` | STARTTLS when the server offers it, else plain | 25 |
//! | `smtp://host?tls=required` | STARTTLS, refused without it | 587 |
//! | `smtps://host` | TLS from the first byte (implicit TLS) | 465 |
//! | `smtp://host?tls=none` | plain, never TLS (a relay on loopback) | 25 |
//!
//! Credentials go in the user info (`smtp://user:pass@host`,
//! percent-encoded). They are refused on a connection that may fall back
//! to plain text (`smtp://` without `tls=`), since a man in the middle can
//! strip the STARTTLS offer and read them; `tls=none` says "plain, on
//! purpose".

use std::fmt;
use std::future::Future;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};

/// How long the transport waits for each SMTP command's answer (and the
/// connection): a server that hangs costs the sender task this, never a
/// request.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection is secured (the table in the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://`: STARTTLS if offered.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or nothing.
    Required,
    /// `smtps://`: implicit TLS.
    Implicit,
    /// `smtp://…?tls=none`: never TLS.
    None,
}

/// A parsed `smtp_url`. `Debug` hides the password.
#[derive(Clone)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    password: Option<SecretString>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why an `smtp_url` was refused; the message never repeats the URL.
#[derive(Debug, thiserror::Error)]
#[error("smtp_url {0}")]
pub struct SmtpUrlError(&'static str);

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(raw).map_err(|_| {
            SmtpUrlError("is not a URL: expected smtp://[user:pass@]host[:port][?tls=required|none] or smtps://…")
        })?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(SmtpUrlError("must start with smtp:// or smtps://")),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(SmtpUrlError("needs a host (smtp://host[:port])")),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(SmtpUrlError("takes no path or fragment, only ?tls="));
        }
        let mut tls_param = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls_param.is_none() => tls_param = Some(value.into_owned()),
                _ => return Err(SmtpUrlError("knows one query parameter, tls=required|none")),
            }
        }
        let tls = match (implicit, tls_param.as_deref()) {
            (true, None) => TlsMode::Implicit,
            (true, Some(_)) => {
                return Err(SmtpUrlError(
                    "smtps:// is TLS from the start; ?tls= belongs to smtp://",
                ));
            }
            (false, None) => TlsMode::Opportunistic,
            (false, Some("required")) => TlsMode::Required,
            (false, Some("none")) => TlsMode::None,
            (false, Some(_)) => return Err(SmtpUrlError("tls= must be `required` or `none`")),
        };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| SmtpUrlError("credentials must be UTF-8 once percent-decoded"))
        };
        let username = Some(url.username())
            .filter(|u| !u.is_empty())
            .map(decode)
            .transpose()?;
        let password = url
            .password()
            .map(decode)
            .transpose()?
            .map(SecretString::from);
        match (&username, &password) {
            (None, Some(_)) => return Err(SmtpUrlError("has a password but no user name")),
            (Some(_), None) => return Err(SmtpUrlError("has a user name but no password")),
            _ => {}
        }
        if username.is_some() && tls == TlsMode::Opportunistic {
            return Err(SmtpUrlError(
                "carries credentials on a connection that may fall back to plain text: \
                 use smtps://, or smtp://…?tls=required (or ?tls=none to send them in the clear on purpose)",
            ));
        }
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::Required => 587,
            TlsMode::Opportunistic | TlsMode::None => 25,
        });
        Ok(Self {
            host,
            port,
            tls,
            username,
            password,
        })
    }

    /// `host:port (tls)` for the log: what a node talks to, no secret.
    pub fn describe(&self) -> String {
        let tls = match self.tls {
            TlsMode::Opportunistic => "STARTTLS if offered",
            TlsMode::Required => "STARTTLS required",
            TlsMode::Implicit => "implicit TLS",
            TlsMode::None => "no TLS",
        };
        format!("{}:{} ({tls})", self.host, self.port)
    }
}

/// How one attempt went wrong, as the sender needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server could not be talked to (refused, timed out, TLS failed,
    /// closed on us): every mail waits, and the node backs off.
    Unreachable(String),
    /// The server answered 4xx: this mail is tried again later; others
    /// need not wait.
    Transient(String),
    /// The server answered 5xx, or the mail cannot be built: trying again
    /// would not help.
    Permanent(String),
}

impl Failure {
    /// The description fit for `/readyz` and the log.
    pub fn describe(&self) -> &str {
        match self {
            Failure::Unreachable(s) | Failure::Transient(s) | Failure::Permanent(s) => s,
        }
    }
}

/// Where the sender hands a built mail. A trait so the queue's behaviour
/// (retries, backoff, shutdown) is tested without a mail server.
pub trait Transport: Send + Sync + 'static {
    fn deliver(&self, message: &Message) -> impl Future<Output = Result<(), Failure>> + Send;
    /// Connects and says NOOP: is the server there? (The start-up check,
    /// and the check a decoy costs when the server was last unreachable.)
    fn probe(&self) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// lettre's async SMTP client, one connection per attempt (mails are few;
/// a pooled connection would only go stale while the server restarts).
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    /// `hello` is the name this node gives in EHLO (the public URL's host),
    /// else lettre's `[127.0.0.1]`.
    pub fn new(url: &SmtpUrl, hello: Option<String>) -> Result<Self, String> {
        let tls_parameters = || {
            TlsParameters::new_rustls(url.host.clone())
                .map_err(|e| format!("cannot set up TLS for the mail server: {e}"))
        };
        let tls = match url.tls {
            TlsMode::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            TlsMode::Required => Tls::Required(tls_parameters()?),
            TlsMode::Implicit => Tls::Wrapper(tls_parameters()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT));
        if let Some(hello) = hello {
            builder = builder.hello_name(ClientId::Domain(hello));
        }
        if let (Some(user), Some(password)) = (&url.username, &url.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Self {
            inner: builder.build(),
        })
    }
}

impl Transport for SmtpTransport {
    async fn deliver(&self, message: &Message) -> Result<(), Failure> {
        self.inner
            .send(message.clone())
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn probe(&self) -> Result<(), Failure> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::Unreachable(
                "the mail server did not answer NOOP".into(),
            )),
            Err(e) => Err(classify(e)),
        }
    }
}

/// Sorts lettre's error into what the sender does next, described without
/// the server's text (which may quote an address) or anything secret.
fn classify(e: lettre::transport::smtp::Error) -> Failure {
    if let Some(code) = e.status() {
        // A 4xx/5xx reply is the server talking: it is reachable.
        let said = format!("the mail server answered {code}");
        if e.is_permanent() {
            // 535: authentication failed (RFC 4954 §6) — worth its own words.
            let hint = if code.to_string() == "535" {
                ": the credentials in smtp_url were refused"
            } else {
                ""
            };
            return Failure::Permanent(format!("{said}{hint}"));
        }
        return Failure::Transient(said);
    }
    if e.is_timeout() {
        return Failure::Unreachable("the mail server did not answer in time".into());
    }
    if e.is_tls() {
        return Failure::Unreachable(format!(
            "TLS with the mail server failed: {}",
            source_text(&e)
        ));
    }
    if e.is_client() {
        // "No compatible authentication mechanism", STARTTLS required but
        // not offered, …: lettre's own words, which hold no secret.
        return Failure::Unreachable(format!("the mail server cannot be used: {e}"));
    }
    Failure::Unreachable(format!("cannot reach the mail server: {}", source_text(&e)))
}

/// The innermost cause (`Connection refused (os error 111)`), else the
/// error itself.
fn source_text(e: &lettre::transport::smtp::Error) -> String {
    let mut last: Option<&(dyn std::error::Error + 'static)> = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = Some(s);
        source = s.source();
    }
    match last {
        Some(s) => s.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_and_default_ports() {
        let u = SmtpUrl::parse("smtp://mail.example").unwrap();
        assert_eq!((u.port, u.tls), (25, TlsMode::Opportunistic));
        let u = SmtpUrl::parse("smtp://u:p%40ss@mail.example?tls=required").unwrap();
        assert_eq!((u.port, u.tls), (587, TlsMode::Required));
        assert_eq!(u.username.as_deref(), Some("u"));
        assert_eq!(
            u.password.as_ref().map(|p| p.expose_secret().to_string()),
            Some("p@ss".to_string())
        );
        let u = SmtpUrl::parse("smtps://u:p@mail.example").unwrap();
        assert_eq!((u.port, u.tls), (465, TlsMode::Implicit));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
        let u = SmtpUrl::parse("smtp://[::1]:2525").unwrap();
        assert_eq!(u.host, "::1");
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_the_password() {
        for (raw, says) in [
            ("http://mail.example", "smtp://"),
            ("smtp://", "host"),
            ("smtp://u:s3cret@mail.example", "plain text"),
            ("smtp://:s3cret@mail.example?tls=required", "no user name"),
            ("smtp://me@mail.example?tls=required", "no password"),
            ("smtp://mail.example?tls=maybe", "required"),
            ("smtps://mail.example?tls=required", "smtps://"),
            ("smtp://mail.example/x", "path"),
            ("smtp://mail.example?password=s3cret", "one query parameter"),
            ("s3cret", "not a URL"),
        ] {
            let e = SmtpUrl::parse(raw).unwrap_err().to_string();
            assert!(e.contains(says), "{raw}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let u = SmtpUrl::parse("smtps://me:s3cret@mail.example").unwrap();
        let debug = format!("{u:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("***"),
            "{debug}"
        );
        assert_eq!(u.describe(), "mail.example:465 (implicit TLS)");
    }
}
