//! `jobdeck ssh HOST [-- CMD]`, `--list` and `--output ID`: the command
//! line turned into a session (`crate::shell`), the audit rows shown.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};

use crate::cli::SshArgs;
use crate::config::{RunConfig, config_path};
use crate::journal::Journal;
use crate::journal::output_cap::DEFAULT_OUTPUT_CAP;
use crate::plan::{self, ConnectOptions};
use crate::shell::{self, TtyChoice};

pub fn run(inventory: &[String], journal: Option<PathBuf>, args: &SshArgs) -> Result<u8> {
    let journal = super::run::journal_path(journal)?;
    if args.list {
        return list(&journal, args);
    }
    if let Some(id) = args.output {
        return output(&journal, id);
    }
    let Some(pattern) = &args.host else {
        bail!("name the host to open a session on (or --list)");
    };
    let inv = super::inventory::warned(super::inventory::load(inventory)?);
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let host = shell::pick_host(&inv, pattern, &base)?;
    let resolve = plan::resolve_options(&ConnectOptions {
        connect_timeout: args.connect_timeout.clone(),
        accept_new: args.accept_new,
        ssh_config: args.ssh_config.clone(),
    })
    .map_err(|e| anyhow!("{}", e.on_command_line()))?;
    let config = RunConfig::load(config_path());
    super::run::print_warnings(&config.warnings);
    let command = (!args.command.is_empty()).then(|| args.command.join(" "));
    let tty = match (args.tty, args.no_tty) {
        (true, _) => TtyChoice::Force,
        (_, true) => TtyChoice::Never,
        _ => TtyChoice::Auto,
    };
    let keep = config.ssh_keep_output.then_some(DEFAULT_OUTPUT_CAP);
    let (spec, warnings) = shell::prepare(&inv, host, &resolve, command, tty, journal, keep)?;
    super::run::print_warnings(&warnings);
    let host_name = spec.host.clone();
    let outcome = shell::run_session(spec)?;
    if let Some(problem) = &outcome.problem {
        eprintln!("jobdeck: ssh {host_name}: {problem}");
    }
    Ok(outcome.status)
}

fn open(journal: &std::path::Path) -> Result<Option<Journal>> {
    Ok(Journal::open_existing(journal)?)
}

fn list(journal: &std::path::Path, args: &SshArgs) -> Result<u8> {
    let rows = match open(journal)? {
        Some(journal) => journal.shell_sessions(None, args.limit)?,
        None => Vec::new(),
    };
    if args.json {
        return super::stdout::write(format!("{}\n", serde_json::to_string_pretty(&rows)?));
    }
    let mut text = format!(
        "{:>5}  {:<19}  {:<8}  {:<7}  {:<16}  {:<24}  {}\n",
        "ID", "STARTED", "LASTED", "EXIT", "HOST", "AS", "COMMAND"
    );
    for row in &rows {
        let lasted = match row.ended_at {
            Some(end) => crate::duration::format_duration(std::time::Duration::from_millis(
                (end - row.started_at).max(0) as u64,
            )),
            None => "open".into(),
        };
        let exit = match (&row.exit_code, &row.exit_signal, &row.error) {
            (Some(code), _, _) => code.to_string(),
            (None, Some(signal), _) => format!("SIG{signal}"),
            (None, None, Some(_)) => "error".into(),
            (None, None, None) => "-".into(),
        };
        let _ = writeln!(
            text,
            "{:>5}  {:<19}  {:<8}  {:<7}  {:<16}  {:<24}  {}{}",
            row.id,
            local_time(row.started_at),
            lasted,
            exit,
            row.host,
            format!(
                "{}@{}:{} by {}",
                row.remote_user, row.address, row.port, row.os_user
            ),
            row.command.as_deref().unwrap_or("(login shell)"),
            row.error
                .as_deref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default(),
        );
    }
    super::stdout::write(text)
}

fn output(journal: &std::path::Path, id: i64) -> Result<u8> {
    let kept = match open(journal)? {
        Some(journal) => journal.shell_session_output(id)?,
        None => None,
    };
    match kept {
        None => bail!("no session {id} in the journal (jobdeck ssh --list shows them)"),
        Some(None) => bail!(
            "session {id} kept no output (set keep_output = true under [ssh] in the config file)"
        ),
        Some(Some(bytes)) => super::stdout::write(bytes),
    }
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}
