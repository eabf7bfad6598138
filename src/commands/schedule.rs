//! `jobdeck schedule ...`: store, list, inspect, pause, resume and remove
//! schedules, and check a crontab expression (`next`). Firing is the
//! scheduler's job (`jobdeck daemon`, or the console while it is open).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::run::{journal_path, parse_param_args};
use crate::cli::{RunPlanArgs, ScheduleCommand};
use crate::exit;
use crate::flow::{load_flow, params};
use crate::inventory::default_sources;
use crate::plan::schedule::{self as schedule_rules, Kind};
use crate::schedule::crontab::SEARCH_YEARS;
use crate::schedule::lease;
use crate::schedule::store::{
    CatchUp, NewSchedule, Overlap, RunOptions, Schedule, ScheduleListing, ScheduleStore, When,
    from_millis,
};
use crate::schedule::{CronExpr, local_zone, parse_local_time, parse_zone};

pub fn run(cmd: ScheduleCommand, inventory: &[String], journal: Option<PathBuf>) -> Result<u8> {
    match cmd {
        ScheduleCommand::Next {
            expr,
            count,
            from,
            tz,
        } => next(&expr, usize::from(count), from.as_deref(), tz.as_deref()),
        ScheduleCommand::Add {
            name,
            flow,
            cron,
            at,
            tz,
            until,
            overlap,
            catch_up,
            run,
        } => {
            let request = AddRequest {
                name,
                flow,
                cron,
                at,
                tz,
                until,
                overlap,
                catch_up,
                run: *run,
            };
            add(&journal_path(journal)?, inventory, request, Utc::now())
        }
        ScheduleCommand::List { json } => list(&open_existing(journal)?, json),
        ScheduleCommand::Show { schedule, json } => show(&open_existing(journal)?, &schedule, json),
        ScheduleCommand::Pause { schedule } => set_paused(journal, &schedule, true),
        ScheduleCommand::Resume { schedule } => set_paused(journal, &schedule, false),
        ScheduleCommand::Rm { schedule } => {
            let mut store = open_existing(journal)?;
            let found = store.find(&schedule)?;
            store.remove(found.id)?;
            println!(
                "schedule {} '{}' removed; its past runs stay in history",
                found.id, found.name
            );
            Ok(exit::OK)
        }
    }
}

/// Reading commands do not create a journal that is not there.
fn open_existing(journal: Option<PathBuf>) -> Result<ScheduleStore> {
    let path = journal_path(journal)?;
    if !crate::journal::exists(&path)? {
        bail!(
            "no journal at {}: no schedules yet (add one with `jobdeck schedule add`)",
            path.display()
        );
    }
    Ok(ScheduleStore::open(&path)?)
}

/// Everything `schedule add` was given.
pub struct AddRequest {
    pub name: String,
    pub flow: PathBuf,
    pub cron: Option<String>,
    pub at: Option<String>,
    pub tz: Option<String>,
    pub until: Option<String>,
    pub overlap: String,
    pub catch_up: String,
    pub run: RunPlanArgs,
}

/// A path made absolute; a host list such as `a,b,` stays as written.
fn absolute_source(source: &str) -> String {
    let path = Path::new(source);
    if path.exists() {
        std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string()
    } else {
        source.to_owned()
    }
}

fn fmt_in(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Checks everything a fire will need, then stores the schedule. Any error
/// stores nothing.
pub fn add(
    journal: &Path,
    inventory: &[String],
    req: AddRequest,
    now: DateTime<Utc>,
) -> Result<u8> {
    let said = |p: schedule_rules::Problem| anyhow!("{}", p.on_command_line());
    let name = schedule_rules::check_name(&req.name).map_err(said)?;
    let zone = match &req.tz {
        Some(text) => parse_zone(text)?,
        None => local_zone(),
    };
    let when = match (&req.cron, &req.at) {
        (Some(expr), None) => schedule_rules::check_when(Kind::Cron, expr, zone, now, false),
        (None, Some(text)) => schedule_rules::check_when(Kind::At, text, zone, now, false),
        _ => bail!("give exactly one of --cron EXPR or --at TIME"),
    }
    .map_err(said)?;
    let until = match &req.until {
        Some(text) => schedule_rules::check_until(text, zone, now).map_err(said)?,
        None => None,
    };
    let overlap: Overlap = req.overlap.parse().map_err(|e: String| anyhow!(e))?;
    let catch_up: CatchUp = req.catch_up.parse().map_err(|e: String| anyhow!(e))?;

    let flow = load_flow(&req.flow).map_err(|errors| anyhow!("{errors}"))?;
    let flow_path = std::path::absolute(&req.flow)?;
    let given = parse_param_args(&req.run.params)?;
    let sources: Vec<String> = default_sources(inventory)
        .iter()
        .map(|s| absolute_source(s))
        .collect();
    let safety = crate::safety::SafetyOptions::from_args(&req.run.safety)?;
    let workdir = std::env::current_dir()?;
    let run = RunOptions {
        inventory: sources,
        workdir: Some(workdir.display().to_string()),
        params: given,
        limit: req.run.limit,
        project: req.run.filter.project,
        cluster: req.run.filter.cluster,
        app: req.run.filter.app,
        hosts: req.run.filter.hosts,
        batches: req.run.batches,
        interval: req.run.interval,
        mode: req.run.mode,
        max_fail: req.run.max_fail,
        forks: req.run.forks,
        order: req.run.order,
        timeout: req.run.timeout,
        connect_timeout: req.run.connect_timeout,
        accept_new: req.run.accept_new,
        ssh_config: req
            .run
            .ssh_config
            .map(|p| absolute_source(&p.to_string_lossy())),
        yes: req.run.yes,
        safety,
    };
    if let Some(problem) = schedule_rules::check_run(&flow, &run).into_iter().next() {
        if problem.is_param_value() {
            params::resolve(&flow.params, &run.params)
                .map_err(|e| anyhow!("{}: {e}", flow.path.display()))?;
        }
        return Err(said(problem));
    }
    let inv = super::inventory::load(&run.inventory)?;
    check_guard(&flow, &run.params, &run.safety, &inv.sources)?;
    schedule_rules::check_targets(&flow, &run, &inv, &workdir).map_err(said)?;
    let first = schedule_rules::check_fires(&when, zone, until, now).map_err(said)?;
    let mut store = ScheduleStore::open(journal)?;
    let schedule = store.add(
        &NewSchedule {
            name,
            flow_path,
            flow_name: flow.name.clone(),
            run,
            when,
            zone,
            until,
            overlap,
            catch_up,
        },
        now,
    )?;
    println!(
        "schedule {} '{}' added: flow {}, {}; next fire {}",
        schedule.id,
        schedule.name,
        flow.name,
        schedule.describe_when(),
        fmt_in(first, zone)
    );
    if catch_up == CatchUp::All && overlap == Overlap::Skip {
        eprintln!(
            "jobdeck: note: with --overlap skip, missed fires caught up with --catch-up all skip each other; --overlap queue runs them one after another"
        );
    }
    if lease::holder(store.connection())?.is_none() {
        eprintln!(
            "jobdeck: note: no scheduler is running on this journal: schedules fire while `jobdeck daemon` (or the console) runs"
        );
    }
    Ok(exit::OK)
}

/// A scheduled run has no operator: a blocked command, or a confirm rule
/// the schedule does not `--allow`, would refuse every fire. Say so now.
fn check_guard(
    flow: &crate::flow::Flow,
    given: &[(String, String)],
    safety: &crate::safety::SafetyOptions,
    inventory: &[PathBuf],
) -> Result<()> {
    let rules =
        crate::guard::RuleSources::for_inventory(crate::config::config_path(), inventory).load();
    for warning in &rules.warnings {
        eprintln!("jobdeck: warning: guard: {warning}");
    }
    let hits = crate::guard::check(&rules.rules, &crate::safety::subjects::of_flow(flow, given));
    for hit in &hits {
        match hit.action {
            crate::guard::Action::Block => {
                bail!("every fire would be blocked by the guard: {hit}")
            }
            crate::guard::Action::Confirm if !safety.allow.contains(&hit.rule) => bail!(
                "the guard would refuse every fire: {hit}; a scheduled run has no operator, so pass --allow {} to let it through",
                hit.rule
            ),
            _ => {}
        }
    }
    Ok(())
}

fn set_paused(journal: Option<PathBuf>, which: &str, paused: bool) -> Result<u8> {
    let mut store = open_existing(journal)?;
    let schedule = store.find(which)?;
    let changed = store.set_paused(schedule.id, paused, Utc::now())?;
    let now = store.get(schedule.id)?;
    let label = format!("schedule {} '{}'", now.id, now.name);
    match (paused, changed) {
        (true, true) => println!("{label} paused"),
        (true, false) => println!("{label} was already paused"),
        (false, changed) => {
            let state = if changed { "resumed" } else { "was not paused" };
            match now.next_fire_at {
                Some(next) => println!("{label} {state}; next fire {}", fmt_in(next, now.zone)),
                None => println!("{label} {state}; it has no fire time left"),
            }
        }
    }
    Ok(exit::OK)
}

fn listing_json(l: &ScheduleListing) -> Value {
    let s = &l.schedule;
    let (kind, expr) = match &s.when {
        When::Cron(e) => ("cron", e.as_str().to_owned()),
        When::At(at) => ("at", at.to_rfc3339()),
    };
    json!({
        "id": s.id,
        "name": s.name,
        "flow": s.flow_name,
        "flow_path": s.flow_path,
        "kind": kind,
        "expr": expr,
        "zone": s.zone.name(),
        "until": s.until.map(|t| t.to_rfc3339()),
        "overlap": s.overlap,
        "catch_up": s.catch_up,
        "paused": s.paused,
        "created_at": s.created_at.to_rfc3339(),
        "next_fire": s.next_fire_at.map(|t| t.to_rfc3339()),
        "last_fire": s.last_fire_at.map(|t| t.to_rfc3339()),
        "last_run": l.last_instance.map(|(id, _)| id),
        "last_run_status": l.last_instance.map(|(_, st)| st.to_string()),
        "running": l.running,
        "queued": s.queued,
        "last_error": s.last_error,
        "last_log": s.last_log,
        "run": s.run,
    })
}

fn scheduler_line(store: &ScheduleStore) -> Result<String> {
    let now = Utc::now().timestamp_millis();
    Ok(match lease::holder(store.connection())? {
        Some(h) => {
            let age = (now - h.heartbeat_at).max(0) / 1000;
            format!("scheduler: {} (heartbeat {age}s ago)", h.describe())
        }
        None => {
            "scheduler: none running; schedules fire while `jobdeck daemon` or the console runs"
                .to_owned()
        }
    })
}

fn state_of(s: &Schedule) -> String {
    let mut flags = Vec::new();
    if s.paused {
        flags.push("paused".to_owned());
    } else if s.next_fire_at.is_none() {
        flags.push("done".to_owned());
    }
    if s.queued > 0 {
        flags.push(format!("{} queued", s.queued));
    }
    if s.last_error.is_some() {
        flags.push("error".to_owned());
    }
    flags.join(", ")
}

fn list(store: &ScheduleStore, json: bool) -> Result<u8> {
    let rows = store.listing()?;
    let mut out = std::io::stdout().lock();
    if json {
        let items: Vec<Value> = rows
            .iter()
            .map(|r| match r {
                Ok(l) => listing_json(l),
                Err(e) => json!({ "error": e.to_string() }),
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        writeln!(
            out,
            "no schedules (add one with `jobdeck schedule add NAME FLOW --cron EXPR`)"
        )?;
        return Ok(exit::OK);
    }
    let mut table: Vec<[String; 6]> = vec![[
        "ID".into(),
        "NAME".into(),
        "WHEN".into(),
        "NEXT FIRE".into(),
        "LAST RUN".into(),
        "STATE".into(),
    ]];
    for row in &rows {
        match row {
            Ok(l) => {
                let s = &l.schedule;
                let next = match (s.paused, s.next_fire_at) {
                    (true, _) => "-".to_owned(),
                    (false, Some(t)) => fmt_in(t, s.zone),
                    (false, None) => "-".to_owned(),
                };
                let last = match l.last_instance {
                    Some((id, status)) => format!("#{id} {status}"),
                    None => "-".to_owned(),
                };
                table.push([
                    s.id.to_string(),
                    s.name.clone(),
                    s.describe_when(),
                    next,
                    last,
                    state_of(s),
                ]);
            }
            Err(e) => writeln!(out, "{e}")?,
        }
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out, "{}", scheduler_line(store)?)?;
    Ok(exit::OK)
}

fn show(store: &ScheduleStore, which: &str, json: bool) -> Result<u8> {
    let schedule = store.find(which)?;
    let listing = ScheduleListing {
        last_instance: store.last_instance(schedule.id)?,
        running: store.live_instances(schedule.id)?,
        schedule,
    };
    let s = &listing.schedule;
    let fires = store.fires(s.id, 10)?;
    let upcoming: Vec<DateTime<Utc>> = if s.paused {
        Vec::new()
    } else {
        let mut times = Vec::new();
        let mut cursor = s.next_fire_at;
        while let Some(t) = cursor.filter(|_| times.len() < 5) {
            times.push(t);
            cursor = s.next_fire_after(t);
        }
        times
    };
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = listing_json(&listing);
        value["upcoming"] = json!(upcoming.iter().map(|t| t.to_rfc3339()).collect::<Vec<_>>());
        value["fires"] = serde_json::to_value(&fires)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(exit::OK);
    }
    let field = |out: &mut std::io::StdoutLock<'_>, k: &str, v: &str| writeln!(out, "{k:<11}{v}");
    field(&mut out, "schedule:", &format!("{} '{}'", s.id, s.name))?;
    field(
        &mut out,
        "flow:",
        &format!("{} ({})", s.flow_name, s.flow_path.display()),
    )?;
    field(&mut out, "when:", &s.describe_when())?;
    if let Some(end) = s.until {
        field(&mut out, "until:", &fmt_in(end, s.zone))?;
    }
    field(&mut out, "overlap:", s.overlap.as_str())?;
    field(&mut out, "catch-up:", s.catch_up.as_str())?;
    let state = state_of(s);
    field(
        &mut out,
        "state:",
        if state.is_empty() { "active" } else { &state },
    )?;
    let args = s.run.to_args();
    if !args.is_empty() {
        field(&mut out, "run:", &args.join(" "))?;
    }
    field(&mut out, "created:", &fmt_in(s.created_at, s.zone))?;
    if let Some(t) = s.last_fire_at {
        field(&mut out, "last fire:", &fmt_in(t, s.zone))?;
    }
    if let Some((id, status)) = listing.last_instance {
        field(
            &mut out,
            "last run:",
            &format!("#{id} {status} (jobdeck show {id})"),
        )?;
    }
    if listing.running > 0 {
        field(&mut out, "running:", &listing.running.to_string())?;
    }
    if let Some(e) = &s.last_error {
        field(&mut out, "error:", e)?;
    }
    if let Some(log) = &s.last_log {
        field(&mut out, "last log:", log)?;
    }
    if upcoming.is_empty() {
        field(
            &mut out,
            "next:",
            if s.paused {
                "- (paused)"
            } else {
                "- (nothing left to fire)"
            },
        )?;
    } else {
        for (i, t) in upcoming.iter().enumerate() {
            field(
                &mut out,
                if i == 0 { "next:" } else { "" },
                &fmt_in(*t, s.zone),
            )?;
        }
    }
    if !fires.is_empty() {
        writeln!(out, "recent fires (newest first):")?;
        for f in &fires {
            let pid = f.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
            let detail = f
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}  {}{pid}{detail}",
                fmt_in(from_millis(f.due_at), s.zone),
                f.outcome
            )?;
        }
    }
    writeln!(out, "{}", scheduler_line(store)?)?;
    Ok(exit::OK)
}

fn next(expr: &str, count: usize, from: Option<&str>, tz: Option<&str>) -> Result<u8> {
    let cron = CronExpr::parse(expr)?;
    let zone = match tz {
        Some(name) => parse_zone(name)?,
        None => local_zone(),
    };
    let start = match from {
        Some(text) => parse_local_time(text, zone)?,
        None => Utc::now().with_timezone(&zone),
    };
    if !(1970..=2099).contains(&start.year()) {
        bail!(
            "--from {}: expected a time in the years 1970-2099",
            start.format("%Y-%m-%d %H:%M:%S %Z")
        );
    }
    let times: Vec<_> = cron.upcoming(start).take(count).collect();
    if times.is_empty() {
        bail!(
            "'{expr}' has no fire time within {SEARCH_YEARS} years after {} in {} (the search also stops at the end of 2100): check the day and month fields",
            start.format("%Y-%m-%d %H:%M:%S %Z"),
            zone.name()
        );
    }
    let mut out = std::io::stdout().lock();
    for t in &times {
        // Readable wall-clock time with zone abbreviation and weekday, then RFC 3339.
        writeln!(
            out,
            "{}  {}",
            t.format("%Y-%m-%d %H:%M:%S %Z (%a)"),
            t.to_rfc3339()
        )?;
    }
    if times.len() < count {
        eprintln!(
            "jobdeck: note: no further fire time within {SEARCH_YEARS} years after {}",
            start.format("%Y-%m-%d %H:%M:%S %Z")
        );
    }
    Ok(exit::OK)
}
