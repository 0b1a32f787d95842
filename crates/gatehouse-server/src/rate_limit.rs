//! Rate limits per client IP on the routes people guess passwords, create
//! accounts, mint tokens and send mails through: a token bucket (GCRA,
//! `governor`) per client address and route group, on this node.
//!
//! [`classify`] is the one place that says which routes are limited and in
//! which group; [`enforce`] is the middleware that asks the group's bucket
//! before the handler runs, so a refused request costs no argon2, no store
//! call and no mail. Refusals are 429 with `Retry-After` (RFC 6585 §4), in
//! the JSON error format, or as the error page on the hosted pages.
//!
//! The client's address is [`crate::client_ip`]'s decision. Forward auth
//! (`/auth`), JWKS, discovery and health are never limited: the gateways
//! call them for every request of every user, from one address.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// The route groups, each with its own quota and buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Account creation: `{iss}/register` and the OpenFaaS register.
    Register,
    /// Password guesses: `{iss}/login`, the hosted sign-in form, the
    /// compat logins (OpenFaaS, knock, the domain service) and the
    /// password change (it checks the current password).
    Login,
    /// The token endpoint, introspection, revocation, the domain
    /// service's `/refresh`.
    Token,
    /// What sends mail: forgotten password, verification resend.
    Forgot,
    /// The hosted pages: authorize, password reset, email verification,
    /// end session.
    Pages,
}

impl Group {
    const ALL: [Group; 5] = [
        Group::Register,
        Group::Login,
        Group::Token,
        Group::Forgot,
        Group::Pages,
    ];

    fn name(self) -> &'static str {
        match self {
            Group::Register => "register",
            Group::Login => "login",
            Group::Token => "token",
            Group::Forgot => "forgot",
            Group::Pages => "pages",
        }
    }
}

/// How a refusal is rendered on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Render {
    Json,
    Page,
    /// A page when the body is a form (the hosted form posts one), JSON
    /// for an API client.
    PageIfForm,
}

/// The route table of the limits: the route's template (as the router
/// matched it) and method → its group and how a refusal looks. Every
/// other route is not limited.
fn classify(method: &Method, route: &str) -> Option<(Group, Render)> {
    use Group::*;
    use Render::*;
    let post = *method == Method::POST;
    let get = *method == Method::GET || *method == Method::HEAD;
    Some(match route {
        "/t/{tenant}/register" | "/t/{tenant}/compat/openfaas/register" if post => (Register, Json),
        "/t/{tenant}/login"
        | "/t/{tenant}/compat/openfaas/login"
        | "/t/{tenant}/user_token"
        | "/user_token"
        | "/login"
        | "/t/{tenant}/password"
            if post =>
        {
            (Login, Json)
        }
        "/t/{tenant}/authorize" if post => (Login, Page),
        "/t/{tenant}/token" | "/t/{tenant}/introspect" | "/t/{tenant}/revoke" if post => {
            (Token, Json)
        }
        "/refresh" if get => (Token, Json),
        "/t/{tenant}/password/forgot" | "/t/{tenant}/verify-email/resend" if post => (Forgot, Json),
        "/t/{tenant}/authorize"
        | "/t/{tenant}/password/reset"
        | "/t/{tenant}/verify-email"
        | "/t/{tenant}/end_session"
            if get =>
        {
            (Pages, Page)
        }
        "/t/{tenant}/end_session" if post => (Pages, Page),
        "/t/{tenant}/password/reset" if post => (Pages, PageIfForm),
        "/t/{tenant}/verify-email" if post => (Pages, Json),
        _ => return None,
    })
}

/// One group's quota: `RATE/PERIOD` with an optional `burst N`, or off.
///
/// `20/min` lets a client send 20 requests at once, then one every 3 s;
/// `20/min burst 10` lets it send 10 at once, then one every 3 s. The
/// period is `s`, `min` or `h` (`sec`, `second`, `m`, `minute`, `hour`
/// too). `off`, `0` or `false` turns the group off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(Option<LimitSpec>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LimitSpec {
    count: NonZeroU32,
    period: Period,
    burst: NonZeroU32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3600,
        })
    }
}

impl Limit {
    pub const OFF: Limit = Limit(None);

    /// `count` per minute, `burst` at once.
    const fn per_minute(count: u32, burst: u32) -> Limit {
        match (NonZeroU32::new(count), NonZeroU32::new(burst)) {
            (Some(count), Some(burst)) => Limit(Some(LimitSpec {
                count,
                period: Period::Minute,
                burst,
            })),
            _ => Limit::OFF,
        }
    }

    pub fn is_off(&self) -> bool {
        self.0.is_none()
    }

    /// Parses the format above; the error is a sentence without the key
    /// (the caller names it).
    pub fn parse(text: &str) -> Result<Limit, String> {
        let text = text.trim();
        if ["off", "0", "false", "none"]
            .iter()
            .any(|w| text.eq_ignore_ascii_case(w))
        {
            return Ok(Limit::OFF);
        }
        let wrong = || {
            format!(
                "`{text}` is not a rate limit: write e.g. `20/min`, `5/s`, `20/min burst 10` or `off`"
            )
        };
        let mut words = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty());
        let (count, period) = words
            .next()
            .and_then(|w| w.split_once('/'))
            .ok_or_else(wrong)?;
        let count: u32 = count.trim().parse().map_err(|_| wrong())?;
        let period = match period.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return Err(wrong()),
        };
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => count,
            (Some(b), Some(n), None) if b.eq_ignore_ascii_case("burst") => {
                n.parse().map_err(|_| wrong())?
            }
            _ => return Err(wrong()),
        };
        let Some(count) = NonZeroU32::new(count) else {
            return Ok(Limit::OFF);
        };
        let burst = NonZeroU32::new(burst)
            .ok_or_else(|| format!("`{text}`: the burst must be at least 1"))?;
        let spec = LimitSpec {
            count,
            period,
            burst,
        };
        spec.quota().ok_or_else(|| {
            format!("`{text}` is faster than this node can count (one per nanosecond)")
        })?;
        Ok(Limit(Some(spec)))
    }

    fn quota(&self) -> Option<Quota> {
        self.0.and_then(|spec| spec.quota())
    }
}

impl LimitSpec {
    /// One request back every `period / count`, up to `burst` saved.
    fn quota(&self) -> Option<Quota> {
        let interval = self.period.duration() / self.count.get();
        Quota::with_period(interval).map(|q| q.allow_burst(self.burst))
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(spec) = self.0 else {
            return f.write_str("off");
        };
        let period = match spec.period {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "h",
        };
        write!(f, "{}/{period}", spec.count)?;
        if spec.burst != spec.count {
            write!(f, " burst {}", spec.burst)?;
        }
        Ok(())
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A variable `=0` or `=false` reaches here as a number or a bool.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Number(i64),
            Flag(bool),
        }
        match Form::deserialize(deserializer)? {
            Form::Text(text) => Limit::parse(&text).map_err(serde::de::Error::custom),
            Form::Number(0) | Form::Flag(false) => Ok(Limit::OFF),
            Form::Number(n) => Err(serde::de::Error::custom(format!(
                "`{n}` is not a rate limit: write e.g. `{n}/min`"
            ))),
            Form::Flag(true) => Err(serde::de::Error::custom(
                "`true` is not a rate limit: write e.g. `20/min`",
            )),
        }
    }
}

/// `[rate_limits]` in `gatehouse.toml`, `GATEHOUSE_RATE_LIMITS__LOGIN=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// `false` turns every group off (a gateway in front limits already).
    pub enabled: bool,
    pub register: Limit,
    pub login: Limit,
    pub token: Limit,
    pub forgot: Limit,
    pub pages: Limit,
    /// Client addresses one group tracks at most. Past it, the group
    /// forgets idle addresses and, if still full, all of them (see
    /// [`GroupLimiter::check`]): memory stays bounded whatever the number
    /// of addresses an attacker sends from.
    pub max_tracked_clients: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            register: Limit::per_minute(10, 10),
            login: Limit::per_minute(20, 10),
            token: Limit::per_minute(600, 600),
            forgot: Limit::per_minute(5, 5),
            pages: Limit::per_minute(120, 120),
            max_tracked_clients: 100_000,
        }
    }
}

impl RateLimitSettings {
    /// Every group off (tests that log in many times from one address).
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    fn limit(&self, group: Group) -> Limit {
        if !self.enabled {
            return Limit::OFF;
        }
        match group {
            Group::Register => self.register,
            Group::Login => self.login,
            Group::Token => self.token,
            Group::Forgot => self.forgot,
            Group::Pages => self.pages,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.enabled && self.max_tracked_clients == 0 {
            return Err("rate_limits.max_tracked_clients must be at least 1 \
                 (GATEHOUSE_RATE_LIMITS__MAX_TRACKED_CLIENTS)"
                .into());
        }
        Ok(())
    }
}

/// A bucket's key: the client's address, an IPv6 client by its /64 (one
/// subscriber's usual allocation: per address, one host could take
/// 2^64 buckets). Requests whose address is unknown (no socket and no
/// adapter report) share the `None` bucket of each group.
type Key = Option<IpAddr>;

fn key_of(ip: Option<IpAddr>) -> Key {
    ip.map(|ip| match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    })
}

/// How many checks pass between two looks at a group's size: bounds the
/// overshoot past `max_tracked_clients` without counting on every request.
const SIZE_CHECK_EVERY: u64 = 256;

/// One group's buckets.
struct GroupLimiter {
    quota: Quota,
    max_tracked: usize,
    /// Behind a lock only so the whole map can be replaced when it is
    /// full (governor has no `clear`); checks take the read side.
    limiter: RwLock<DefaultKeyedRateLimiter<Key>>,
    /// Checks since the start, to look at the size every
    /// [`SIZE_CHECK_EVERY`].
    checks: AtomicU64,
}

impl GroupLimiter {
    fn new(quota: Quota, max_tracked: usize) -> Self {
        Self {
            quota,
            max_tracked,
            limiter: RwLock::new(DefaultKeyedRateLimiter::keyed(quota)),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)`: refused, the bucket has a token again after `wait`.
    fn check(&self, group: Group, key: &Key) -> Result<(), Duration> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SIZE_CHECK_EVERY)
        {
            self.bound(group);
        }
        let limiter = self.limiter.read().unwrap_or_else(PoisonError::into_inner);
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    /// Keeps the group within `max_tracked`: first by forgetting the
    /// addresses whose bucket is full again (they are as good as new),
    /// then, if that is not enough, by forgetting every address. Clearing
    /// hands every client a full bucket again — a flood from more
    /// addresses than the cap buys its senders (and everyone else) one
    /// fresh burst each time it fills the table; the alternative, memory
    /// without bound, would take the node down for all.
    fn bound(&self, group: Group) {
        let len = self
            .limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        if len <= self.max_tracked {
            return;
        }
        let mut limiter = self.limiter.write().unwrap_or_else(PoisonError::into_inner);
        limiter.retain_recent();
        if limiter.len() > self.max_tracked {
            tracing::warn!(
                group = group.name(),
                tracked = limiter.len(),
                max = self.max_tracked,
                "rate limit: more client addresses than rate_limits.max_tracked_clients; forgetting all of them"
            );
            *limiter = DefaultKeyedRateLimiter::keyed(self.quota);
        } else {
            limiter.shrink_to_fit();
        }
    }

    /// The periodic sweep: forgets addresses whose bucket is full again.
    fn sweep(&self) {
        let limiter = self.limiter.read().unwrap_or_else(PoisonError::into_inner);
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }

    fn tracked(&self) -> usize {
        self.limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The node's buckets, one set per group (`None`: the group is off).
pub struct RateLimits {
    groups: [Option<GroupLimiter>; 5],
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            groups: Group::ALL.map(|group| {
                settings
                    .limit(group)
                    .quota()
                    .map(|quota| GroupLimiter::new(quota, settings.max_tracked_clients))
            }),
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self::new(&RateLimitSettings::off())
    }

    fn group(&self, group: Group) -> Option<&GroupLimiter> {
        self.groups[group as usize].as_ref()
    }

    /// Takes one token from `ip`'s bucket in `group`; `Err(wait)` when
    /// there is none.
    pub fn check(&self, group: Group, ip: Option<IpAddr>) -> Result<(), Duration> {
        match self.group(group) {
            Some(limiter) => limiter.check(group, &key_of(ip)),
            None => Ok(()),
        }
    }

    /// Forgets the addresses whose bucket is full again, in every group.
    pub fn sweep(&self) {
        self.groups.iter().flatten().for_each(GroupLimiter::sweep);
    }

    /// Addresses tracked across the groups (for tests and the log).
    pub fn tracked(&self) -> usize {
        self.groups
            .iter()
            .flatten()
            .map(GroupLimiter::tracked)
            .sum()
    }

    fn any(&self) -> bool {
        self.groups.iter().any(Option::is_some)
    }
}

/// How often the buckets of idle clients are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The background sweep of a serving node: every minute, forgets the
/// clients whose buckets are full again, until `stop` turns true.
pub async fn sweep(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !state.rate_limits.any() {
        return;
    }
    let mut ticker = tokio::time::interval(SWEEP_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => state.rate_limits.sweep(),
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// The middleware, layered on every route (`route_layer`, so the matched
/// route is known): a limited route's request passes only with a token
/// from its client's bucket.
pub async fn enforce(
    State(state): State<AppState>,
    route: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let Some((group, render)) = route.and_then(|r| classify(request.method(), r.as_str())) else {
        return next.run(request).await;
    };
    let ip = request.extensions().get::<ClientIp>().and_then(|c| c.0);
    let Err(wait) = state.rate_limits.check(group, ip) else {
        return next.run(request).await;
    };
    // RFC 9110 §10.2.3: whole seconds, rounded up so a client that waits
    // exactly that long finds a token.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let error = ApiError::rate_limited(secs.max(1));
    let is_form = || {
        request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    };
    match render {
        Render::Page => crate::pages::error_page(error),
        Render::PageIfForm if is_form() => crate::pages::error_page(error),
        _ => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_reads_and_writes_back() {
        for (text, shown) in [
            ("20/min", "20/min"),
            ("20/min burst 10", "20/min burst 10"),
            (" 5/s ", "5/s"),
            ("5/second, burst 2", "5/s burst 2"),
            ("100/h", "100/h"),
            ("3/M BURST 1", "3/min burst 1"),
            ("off", "off"),
            ("0", "off"),
            ("0/min", "off"),
        ] {
            let limit = Limit::parse(text).unwrap();
            assert_eq!(limit.to_string(), shown, "{text:?}");
            assert_eq!(Limit::parse(&limit.to_string()).unwrap(), limit);
        }
        for bad in [
            "20",
            "20/day",
            "x/min",
            "20/min burst",
            "20/min burst 0",
            "20/min 10",
            "-1/s",
        ] {
            let e = Limit::parse(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(
            RateLimitSettings::default().login.to_string(),
            "20/min burst 10"
        );
    }

    #[test]
    fn the_route_table() {
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(
            classify(&post, "/t/{tenant}/login"),
            Some((Group::Login, Render::Json))
        );
        assert_eq!(
            classify(&post, "/t/{tenant}/authorize"),
            Some((Group::Login, Render::Page))
        );
        assert_eq!(
            classify(&get, "/t/{tenant}/authorize"),
            Some((Group::Pages, Render::Page))
        );
        assert_eq!(
            classify(&Method::HEAD, "/t/{tenant}/verify-email").map(|c| c.0),
            Some(Group::Pages)
        );
        assert_eq!(
            classify(&post, "/user_token").map(|c| c.0),
            Some(Group::Login)
        );
        assert_eq!(classify(&get, "/refresh").map(|c| c.0), Some(Group::Token));
        for (method, free) in [
            (&get, "/t/{tenant}/auth"),
            (&get, "/auth"),
            (&get, "/t/{tenant}/.well-known/jwks.json"),
            (&get, "/healthz"),
            (&post, "/t/{tenant}/logout"),
            (&get, "/t/{tenant}/login"),
        ] {
            assert_eq!(classify(method, free), None, "{method} {free}");
        }
    }

    #[test]
    fn a_burst_then_a_wait_per_address_and_ipv6_per_64() {
        let settings = RateLimitSettings {
            login: Limit::parse("60/min burst 3").unwrap(),
            ..RateLimitSettings::default()
        };
        let limits = RateLimits::new(&settings);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check(Group::Login, Some(a)).is_ok());
        }
        let wait = limits.check(Group::Login, Some(a)).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another address, another group: untouched.
        assert!(limits.check(Group::Login, "192.0.2.2".parse().ok()).is_ok());
        assert!(limits.check(Group::Register, Some(a)).is_ok());
        // One /64 is one client; the next /64 is another.
        for host in 1..=3 {
            let ip = format!("2001:db8:1:2::{host}").parse().ok();
            assert!(limits.check(Group::Login, ip).is_ok());
        }
        assert!(
            limits
                .check(Group::Login, "2001:db8:1:2:ffff::9".parse().ok())
                .is_err()
        );
        assert!(
            limits
                .check(Group::Login, "2001:db8:1:3::1".parse().ok())
                .is_ok()
        );
        // IPv4-mapped is the IPv4 address.
        assert!(
            limits
                .check(Group::Login, "::ffff:192.0.2.1".parse().ok())
                .is_err()
        );
        // Unknown addresses share one bucket.
        for _ in 0..3 {
            assert!(limits.check(Group::Login, None).is_ok());
        }
        assert!(limits.check(Group::Login, None).is_err());
        // Off means off.
        let off = RateLimits::off();
        for _ in 0..100 {
            assert!(off.check(Group::Login, Some(a)).is_ok());
        }
        assert_eq!(off.tracked(), 0);
    }

    #[test]
    fn memory_is_bounded_by_the_cap() {
        let settings = RateLimitSettings {
            token: Limit::parse("1/h").unwrap(),
            max_tracked_clients: 1000,
            ..RateLimitSettings::default()
        };
        let limits = RateLimits::new(&settings);
        for i in 0..20_000u32 {
            let _ = limits.check(Group::Token, Some(IpAddr::from(i.to_be_bytes())));
        }
        let tracked = limits.tracked();
        assert!(
            tracked <= 1000 + SIZE_CHECK_EVERY as usize,
            "{tracked} addresses tracked"
        );
        // The sweep forgets only buckets that are full again: here none.
        limits.sweep();
        assert_eq!(limits.tracked(), tracked);
    }

    #[test]
    fn the_sweep_forgets_refilled_buckets() {
        let settings = RateLimitSettings {
            pages: Limit::parse("1000/s burst 1").unwrap(),
            ..RateLimitSettings::default()
        };
        let limits = RateLimits::new(&settings);
        for i in 0..100u32 {
            let _ = limits.check(Group::Pages, Some(IpAddr::from(i.to_be_bytes())));
        }
        assert_eq!(limits.tracked(), 100);
        std::thread::sleep(Duration::from_millis(20));
        limits.sweep();
        assert_eq!(limits.tracked(), 0);
    }
}
