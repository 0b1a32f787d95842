//! `gatehouse events`: a page of a tenant's audit events, newest first,
//! as `GET /admin/t/{tenant}/events` answers it (`--json`), or one line
//! each for a person.

use std::io::Write;
use std::time::Duration;

use gatehouse_core::store::EventQuery;
use gatehouse_server::Config;

use crate::CliResult;
use crate::cli::{Access, EventsArgs};

pub async fn run(config: &Config, args: EventsArgs, access: Access) -> CliResult<()> {
    let services = crate::services(config, access).await?;
    let ctx = services.contexts.get(&args.tenant).await?;
    let since = args
        .since
        .map(|ago: Duration| services.now() - i64::try_from(ago.as_secs()).unwrap_or(i64::MAX));
    let page = services
        .events(
            &ctx,
            EventQuery {
                kind: args.kind,
                subject: args.subject,
                since,
                before_id: args.cursor,
                limit: args.limit,
            },
        )
        .await?;
    let mut out = std::io::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&page)?)?;
        return Ok(());
    }
    for e in &page.events {
        writeln!(
            out,
            "{at}  {kind:<22} {outcome:<7} actor={actor} subject={subject} ip={ip}{reason}",
            at = e.at,
            kind = e.kind,
            outcome = e.outcome,
            actor = e.actor.as_deref().unwrap_or("-"),
            subject = e.subject.as_deref().unwrap_or("-"),
            ip = e.ip.as_deref().unwrap_or("-"),
            reason = e
                .reason
                .as_deref()
                .map(|r| format!(" reason={r}"))
                .unwrap_or_default(),
        )?;
    }
    if let Some(cursor) = &page.next_cursor {
        eprintln!("more events: add --cursor {cursor}");
    }
    Ok(())
}
