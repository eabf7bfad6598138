//! Command-line definitions (clap). `jobdeck` with no command opens the
//! console; subcommands serve scripts and CI.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

#[derive(Debug, Parser)]
#[command(
    name = "jobdeck",
    version,
    about = "A terminal operations console: ansible-style inventory, staged rollouts over SSH, a SQLite journal",
    after_help = "-i and --journal given before a subcommand serve it when it reads an inventory or the journal (`jobdeck --journal j.db history`); each subcommand's --help lists what it takes."
)]
pub struct Cli {
    /// Inventory source: a file, a directory of inventory files, or a
    /// comma-separated host list. Repeat to combine sources, as with Ansible.
    /// Default: ./inventory if it exists, otherwise the bundled sample-inventory/.
    #[arg(short = 'i', long = "inventory", value_name = "SOURCE")]
    pub inventory: Vec<String>,

    /// The journal (SQLite) where runs and schedules are kept.
    /// Default: $XDG_DATA_HOME/jobdeck/journal.db (~/.local/share/jobdeck/journal.db).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<std::path::PathBuf>,

    /// The console's colour theme: dark, light, high-contrast, or a theme
    /// file (NAME.toml in the config dir's themes/, or a path).
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Run a flow headless (for scripts and CI), or with -c one command.
    #[arg(long, value_name = "FLOW", num_args = 0..=1, default_missing_value = "")]
    pub run: Option<String>,

    #[command(flatten)]
    pub run_args: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How `--run` selects hosts, rolls out and reports.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// With --run: run this shell command on the selected hosts (ad-hoc mode).
    #[arg(short = 'c', long = "command", value_name = "CMD", requires = "run")]
    pub command_line: Option<String>,
    #[command(flatten)]
    pub plan: RunPlanArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// What started the run (`schedule:ID`); only the scheduler passes it.
    #[arg(long, value_name = "TRIGGER", hide = true, requires = "run")]
    pub trigger: Option<String>,
}

/// How a headless run reports (`--run`, `rerun`, `resume`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct OutputArgs {
    /// Print one JSON object per event (hosts and steps named next to their
    /// index) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gather: GatherArgs,
}

/// `--gather` and how it compares: for a run as it goes (`--run`) and for
/// a past one (`show`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct GatherArgs {
    /// Fold hosts with alike output into one block (clush -b style): outputs
    /// are compared with each host's own names and address (where known)
    /// replaced.
    #[arg(long, conflicts_with = "json")]
    pub gather: bool,
    /// With --gather: also treat timestamps, hex ids and numbers as host
    /// specific.
    #[arg(long, requires = "gather")]
    pub normalize: bool,
    /// With --gather: say how many hosts are alike ("38 of 40 alike, 2
    /// differ") and show each other group as a diff against the largest.
    #[arg(long, requires = "gather")]
    pub diff: bool,
}

/// `jobdeck ssh`.
#[derive(Debug, Clone, Default, Args)]
pub struct SshArgs {
    /// The host: an inventory name, or a pattern that matches exactly one host.
    #[arg(required_unless_present_any = ["list", "output"])]
    pub host: Option<String>,
    /// The command to run instead of a login shell, after `--`
    /// (`jobdeck ssh web1 -- uptime`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Ask for a terminal even for a command (as ssh -t). Default: a login
    /// shell gets one when stdin is a terminal, a command when both stdin
    /// and stdout are.
    #[arg(short = 't', conflicts_with = "no_tty")]
    pub tty: bool,
    /// Never ask for a terminal (as ssh -T).
    #[arg(short = 'T')]
    pub no_tty: bool,
    /// List the recorded sessions (newest first) instead of opening one.
    #[arg(long, conflicts_with_all = ["host", "output"])]
    pub list: bool,
    /// Print the output kept for session ID ([ssh] keep_output = true).
    #[arg(long, value_name = "ID", conflicts_with = "host")]
    pub output: Option<i64>,
    /// With --list: print JSON.
    #[arg(long, requires = "list")]
    pub json: bool,
    /// With --list: at most this many sessions.
    #[arg(long, default_value_t = 20, requires = "list")]
    pub limit: u32,
    /// Connect timeout (default: the inventory's or ssh_config's, else 10s).
    #[arg(long, value_name = "DUR")]
    pub connect_timeout: Option<String>,
    /// Record an unknown host key (a changed key still fails), like StrictHostKeyChecking=accept-new.
    #[arg(long)]
    pub accept_new: bool,
    /// Read this ssh_config instead of ~/.ssh/config.
    #[arg(short = 'F', value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub journal: JournalArgs,
}

/// `-i` for a subcommand that reads the inventory.
#[derive(Debug, Clone, Default, Args)]
pub struct InventoryArgs {
    /// Inventory source: a file, a directory of inventory files, or a
    /// comma-separated host list. Repeat to combine sources, as with Ansible.
    /// Default: ./inventory if it exists, otherwise the bundled sample-inventory/.
    #[arg(short = 'i', long = "inventory", value_name = "SOURCE")]
    pub inventory: Vec<String>,
}

/// `-i` for `rerun` and `resume`, which default to the run's own.
#[derive(Debug, Clone, Default, Args)]
pub struct PastInventoryArgs {
    /// Inventory source (a file, a directory, or a comma-separated host
    /// list; repeatable). Default: the inventory the run recorded.
    #[arg(short = 'i', long = "inventory", value_name = "SOURCE")]
    pub inventory: Vec<String>,
}

/// `--journal` for a subcommand that reads or writes the journal.
#[derive(Debug, Clone, Default, Args)]
pub struct JournalArgs {
    /// The journal (SQLite) where runs and schedules are kept.
    /// Default: $XDG_DATA_HOME/jobdeck/journal.db (~/.local/share/jobdeck/journal.db).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<std::path::PathBuf>,
}

/// What `rerun` and `resume` may change of the run they repeat, as `--run`
/// takes it; what is not given is what the run recorded.
#[derive(Debug, Clone, Default, Args)]
pub struct AgainArgs {
    /// Only the hosts of the run that this pattern matches (Ansible syntax:
    /// web:!web03, ~regex, @file). With resume, the hosts it leaves out end
    /// skipped (`rerun --skipped` reaches them).
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Command timeout per step that sets none (default: the run's).
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,
    /// Per-host connect timeout (default: the run's, else 10s).
    #[arg(long, value_name = "DUR")]
    pub connect_timeout: Option<String>,
    /// Record unknown host keys (changed keys still fail), like
    /// StrictHostKeyChecking=accept-new (default: as the run did).
    #[arg(long)]
    pub accept_new: bool,
    /// Read this ssh_config instead of the one the run used (default: the
    /// run's, else ~/.ssh/config).
    #[arg(short = 'F', value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
}

/// The id of a run, as `history` lists it.
const RUN_ID: &str = "The run's id, as `jobdeck history` lists it";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the inventory: the project → cluster → app tree, host selection, host details.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Plan staged rollouts: preview how a batch expression splits the hosts.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Schedules: flows run on crontab times or once, kept in the journal (add, list, show, pause, resume, rm, next).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Run due schedules without a terminal, until SIGTERM or SIGINT.
    /// Logs one line per event (`level: message`) to stderr or to --log.
    Daemon {
        /// Append the log to this file (with timestamps) instead of stderr.
        #[arg(long, value_name = "FILE")]
        log: Option<std::path::PathBuf>,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Check a flow, its atoms and params, and what the guard says about
    /// its commands; errors point at file:line.
    Check {
        /// The flow file.
        flow: std::path::PathBuf,
        // The guard file beside this inventory is read too.
        #[command(flatten)]
        inventory: InventoryArgs,
    },
    /// List past runs from the journal.
    History {
        /// Print a JSON array of runs instead of a table.
        #[arg(long)]
        json: bool,
        /// Show at most this many (newest first).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only runs of this flow.
        #[arg(long)]
        flow: Option<String>,
        /// Only runs with this status: ok, failed, aborted, interrupted, running, waiting, paused.
        #[arg(long)]
        status: Option<String>,
        /// Only runs started since then: a duration back from now (7d, 12h)
        /// or a local date or time (2026-03-01, "2026-03-01 14:00").
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Search the output of past runs: matching lines as `ID host step: line`,
    /// newest runs first. Exits 0 when something matched, 1 when nothing did.
    Grep(GrepArgs),
    /// A shell on one inventory host, or one command there (`-- CMD`), over
    /// the same SSH as runs (names, ansible_host, keys, jump hosts,
    /// known_hosts, agent). Exits with the remote status, 255 when the
    /// host could not be reached. Each session is an audit row (`--list`).
    Ssh(SshArgs),
    /// Journal housekeeping while runs go on: size, pruning old runs, backups, checks.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Show a past run: results per host and their output.
    Show {
        #[arg(help = RUN_ID)]
        id: i64,
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        /// Only this step (name or 1-based number).
        #[arg(long)]
        step: Option<String>,
        /// Print the run as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// Play the output back with its original timing.
        #[arg(long, conflicts_with_all = ["json", "gather"])]
        replay: bool,
        /// Replay speed: 1, 10, 100...
        #[arg(long, default_value_t = 1.0, requires = "replay")]
        speed: f64,
        // The hosts folded as `--run ... --gather` folds them.
        #[command(flatten)]
        gather: GatherArgs,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Run some hosts of a past run again (its failed ones, its skipped
    /// ones, or both), as a new run linked to it, with the flow and atoms
    /// it ran.
    Rerun {
        #[arg(help = RUN_ID)]
        id: i64,
        /// The hosts that failed (timed out, unreachable, cancelled...). Say
        /// which hosts you mean: --failed, --skipped or both.
        #[arg(long)]
        failed: bool,
        /// The hosts that never ran to the end: skipped by an operator, or
        /// not reached because the run stopped (max-fail, abort).
        #[arg(long)]
        skipped: bool,
        /// A param for this run (repeatable): secret ones, never stored, must
        /// be given again; others replace the recorded value.
        #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Answer yes to batch confirmations and approval steps (needed
        /// without a terminal for --mode confirm and approval steps).
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        again: AgainArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        safety: SafetyArgs,
        #[command(flatten)]
        inventory: PastInventoryArgs,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Continue an interrupted run: only the hosts not yet done, each from
    /// the first step it had not finished.
    Resume {
        #[arg(help = RUN_ID)]
        id: i64,
        /// A param for this run (repeatable): secret ones, never stored, must
        /// be given again; others replace the recorded value.
        #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Answer yes to batch confirmations and approval steps (needed
        /// without a terminal for --mode confirm and approval steps).
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        again: AgainArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        safety: SafetyArgs,
        #[command(flatten)]
        inventory: PastInventoryArgs,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Export a whole run as JSON: the instance, its atoms, every result and all output.
    Export {
        #[arg(help = RUN_ID)]
        id: i64,
        /// Accepted and ignored: JSON is the only format, printed with or without it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// A schedule, as `schedule list` shows it.
const SCHEDULE: &str = "The schedule: its name or id, as `jobdeck schedule list` shows them";

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Store a schedule: a flow with its params, targets and rollout, run
    /// on a crontab expression (--cron) or once (--at). Nothing is stored
    /// unless everything checks out.
    Add {
        /// A name for the schedule (unique, not a number).
        name: String,
        /// The flow file (stored as an absolute path; read again at each fire).
        flow: std::path::PathBuf,
        /// Standard 5-field crontab expression or nickname: "30 2 * * 1-5", @daily.
        #[arg(
            long,
            value_name = "EXPR",
            required_unless_present = "at",
            conflicts_with = "at"
        )]
        cron: Option<String>,
        /// Run once at this time: "2026-12-01 02:00" in the zone, RFC 3339,
        /// or a time from now: +2h, "in 90m".
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// IANA time zone of the expression and times. Default: the local zone.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// No fire after this time ("2027-01-01 00:00" in the zone, RFC 3339, or +30d).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// When a run of this schedule is still going at a fire time: skip
        /// the fire, queue it until the run ends, or allow a second run.
        #[arg(long, value_name = "skip|queue|allow", default_value = "skip")]
        overlap: String,
        /// Fire times missed while no scheduler ran: run once for all of
        /// them, run all (the latest 10), or none.
        #[arg(
            long = "catch-up",
            value_name = "once|all|none",
            default_value = "once"
        )]
        catch_up: String,
        #[command(flatten)]
        run: Box<RunPlanArgs>,
        // The selection is checked against this inventory now, and the
        // schedule's runs use it.
        #[command(flatten)]
        inventory: InventoryArgs,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// List schedules: next fire, last run and its status.
    List {
        /// Print a JSON array of schedules instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Show one schedule (by id or name): its settings, recent fires and next fire times.
    Show {
        #[arg(help = SCHEDULE)]
        schedule: String,
        /// Print the schedule as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Stop firing a schedule until `schedule resume`.
    Pause {
        #[arg(help = SCHEDULE)]
        schedule: String,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Fire a paused schedule again, from its next fire time after now
    /// (what fell due while paused is not caught up).
    Resume {
        #[arg(help = SCHEDULE)]
        schedule: String,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Delete a schedule. Its past runs stay in history.
    Rm {
        #[arg(help = SCHEDULE)]
        schedule: String,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Print the next fire times of a crontab expression, to check it
    /// before trusting it. Standard 5-field crontab (`man 5 crontab`) or a
    /// nickname such as @daily; daylight-saving changes follow cronie.
    Next {
        /// The expression, quoted: "30 2 * * 1-5".
        expr: String,
        /// How many fire times to print.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        count: u16,
        /// Start after this time (exclusive): "2026-12-01 02:00" in the
        /// zone, RFC 3339 with an offset, or +2h. Default: now.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin. Default: the local zone.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct GrepArgs {
    /// The text to look for. It starts where a word starts: `refuse` finds
    /// "refused", not "unrefused". With -E, a regex.
    pub pattern: String,
    /// Ignore case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// PATTERN is a regex (Rust syntax), matched against each line.
    #[arg(short = 'E', long = "regex")]
    pub regex: bool,
    /// Show N lines of context before and after each match.
    #[arg(short = 'C', long, value_name = "N", default_value_t = 0)]
    pub context: usize,
    /// Only runs of this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only hosts with this name, or whose name matches this glob (`web*`).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only runs started since then: a duration back from now (7d, 12h) or
    /// a local date or time (2026-03-01, "2026-03-01 14:00").
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only runs started before then (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only runs with this status: ok, failed, aborted, interrupted, running, waiting, paused.
    #[arg(long)]
    pub status: Option<String>,
    /// One JSON object per matching line, with its context.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub journal: JournalArgs,
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// File size, free pages, runs by status, output by flow and by month,
    /// the largest runs.
    Stats {
        /// Print the figures as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Delete finished runs (ok, failed, aborted) older than a duration,
    /// with their hosts, steps and output, and give the space back. Never
    /// running, waiting, paused or interrupted runs, nor a schedule's last
    /// run. Live runs go on meanwhile.
    Prune {
        /// Runs that ended longer ago than this: 90d, 12h, 1d12h.
        #[arg(long, value_name = "DUR", required = true)]
        older_than: String,
        /// Keep the newest N runs of each flow, whatever their age.
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Only runs of this flow.
        #[arg(long, value_name = "NAME")]
        flow: Option<String>,
        /// Say what would be deleted; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print what was (or would be) deleted as JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Copy the journal to a new file while runs and the daemon go on (a
    /// consistent snapshot, checked before it gets its name).
    Backup {
        /// The copy; must not exist yet.
        path: std::path::PathBuf,
        #[command(flatten)]
        journal: JournalArgs,
    },
    /// Check the journal's integrity and its references between tables;
    /// exits 1 when something is wrong.
    Check {
        /// SQLite's quick_check: faster, skips checking index contents.
        #[arg(long)]
        quick: bool,
        /// Print the report as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        journal: JournalArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Show the inventory as a project → cluster → app → hosts tree, or as
    /// the JSON document `ansible-inventory --list` prints.
    List {
        /// Print exactly what `ansible-inventory --list` prints.
        #[arg(long)]
        json: bool,
        /// With --json: keep group vars in their groups and only host vars
        /// in `_meta.hostvars`, as `ansible-inventory --list --export` does.
        #[arg(long, requires = "json")]
        export: bool,
        #[command(flatten)]
        inventory: InventoryArgs,
    },
    /// Print the hosts a selection matches, one per line, in the order
    /// `ansible PATTERN --list-hosts` gives.
    Hosts {
        /// An Ansible host pattern: all, web:db, web:&prod, web:!canary,
        /// *.example.com, ~regex, web[0:2], @file.
        #[arg(default_value = "all")]
        pattern: String,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        inventory: InventoryArgs,
    },
    /// Show a host's merged variables, its groups and its connection settings.
    Show {
        /// The host's inventory name.
        host: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        inventory: InventoryArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Print the batch sizes a batch expression gives for N hosts.
    Preview {
        /// Batch expression, as in BlueKing Job: `n` hosts, `n%` of the hosts
        /// (rounded up), `+n` / `*n` to grow each following batch; `100%` is
        /// the rest; the last token repeats. E.g. `10% 30% 100%`, `5 *2`.
        #[arg(
            value_name = "EXPR",
            required = true,
            num_args = 1..,
            allow_negative_numbers = true
        )]
        expr: Vec<String>,
        /// How many hosts are selected.
        #[arg(long, value_name = "N")]
        hosts: usize,
        /// Print a JSON list of batch sizes instead of text.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// The journal the command uses: `--journal` after the subcommand, else
    /// before it.
    pub fn journal_path(&self) -> Option<std::path::PathBuf> {
        let after = self.command.as_ref().and_then(Command::journal);
        after
            .and_then(|a| a.journal.clone())
            .or_else(|| self.journal.clone())
    }

    /// The inventory sources the command uses: `-i` before the subcommand,
    /// then those after it.
    pub fn inventory_sources(&self) -> Vec<String> {
        let mut sources = self.inventory.clone();
        if let Some(command) = &self.command {
            sources.extend(command.inventory().iter().cloned());
        }
        sources
    }
}

impl Command {
    /// The subcommand's `--journal`, when it takes one.
    fn journal(&self) -> Option<&JournalArgs> {
        match self {
            Command::Daemon { journal, .. }
            | Command::History { journal, .. }
            | Command::Show { journal, .. }
            | Command::Rerun { journal, .. }
            | Command::Resume { journal, .. }
            | Command::Export { journal, .. } => Some(journal),
            Command::Grep(args) => Some(&args.journal),
            Command::Ssh(args) => Some(&args.journal),
            Command::Schedule(command) => command.journal(),
            Command::Journal(command) => Some(command.journal()),
            Command::Inventory(_)
            | Command::Rollout(_)
            | Command::Check { .. }
            | Command::Completions { .. } => None,
        }
    }

    /// The subcommand's `-i` sources (empty when it takes none).
    fn inventory(&self) -> &[String] {
        match self {
            Command::Check { inventory, .. } => &inventory.inventory,
            Command::Rerun { inventory, .. } | Command::Resume { inventory, .. } => {
                &inventory.inventory
            }
            Command::Inventory(command) => command.inventory(),
            Command::Ssh(args) => &args.inventory.inventory,
            Command::Schedule(ScheduleCommand::Add { inventory, .. }) => &inventory.inventory,
            _ => &[],
        }
    }
}

impl ScheduleCommand {
    fn journal(&self) -> Option<&JournalArgs> {
        match self {
            ScheduleCommand::Add { journal, .. }
            | ScheduleCommand::List { journal, .. }
            | ScheduleCommand::Show { journal, .. }
            | ScheduleCommand::Pause { journal, .. }
            | ScheduleCommand::Resume { journal, .. }
            | ScheduleCommand::Rm { journal, .. } => Some(journal),
            ScheduleCommand::Next { .. } => None,
        }
    }
}

impl JournalCommand {
    fn journal(&self) -> &JournalArgs {
        match self {
            JournalCommand::Stats { journal, .. }
            | JournalCommand::Prune { journal, .. }
            | JournalCommand::Backup { journal, .. }
            | JournalCommand::Check { journal, .. } => journal,
        }
    }
}

impl InventoryCommand {
    fn inventory(&self) -> &[String] {
        match self {
            InventoryCommand::List { inventory, .. }
            | InventoryCommand::Hosts { inventory, .. }
            | InventoryCommand::Show { inventory, .. } => &inventory.inventory,
        }
    }
}

/// Which hosts, how they roll out and how they are reached: what `--run`
/// and a stored schedule share (a schedule stores these, minus secret params).
#[derive(Debug, Clone, Default, Args)]
pub struct RunPlanArgs {
    /// Host pattern (Ansible syntax). Default: the flow's targets, else all.
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub limit: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Batch sizes: "10% 30% 100%", "1 *2", "5 +10". Default: the flow's, else all at once.
    #[arg(long, value_name = "EXPR")]
    pub batches: Option<String>,
    /// Pause between batches: 90s, 2h, 1h30m.
    #[arg(long, value_name = "DUR")]
    pub interval: Option<String>,
    /// Between batches: pause-on-failure (default), continue, or confirm.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Abort once more hosts than this fail over the whole run: N or P%.
    #[arg(long, value_name = "N|P%")]
    pub max_fail: Option<String>,
    /// Hosts running at once (default 64).
    #[arg(long, value_name = "N")]
    pub forks: Option<usize>,
    /// Host order before batching: inventory (default), sorted, shuffle, shuffle:SEED.
    #[arg(long, value_name = "ORDER")]
    pub order: Option<String>,
    /// A flow param: --param version=1.2.3 (repeatable; a schedule cannot store secret ones).
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Command timeout per step (default: the step's, else none).
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,
    /// Per-host connect timeout (default 10s).
    #[arg(long, value_name = "DUR")]
    pub connect_timeout: Option<String>,
    /// Record unknown host keys (changed keys still fail), like StrictHostKeyChecking=accept-new.
    #[arg(long)]
    pub accept_new: bool,
    /// Read this ssh_config instead of ~/.ssh/config.
    #[arg(short = 'F', value_name = "FILE")]
    pub ssh_config: Option<std::path::PathBuf>,
    /// Answer yes to batch confirmations and approvals (needed without a
    /// terminal: --mode confirm headless or in a schedule, approval steps).
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub safety: SafetyArgs,
}

/// What guards a run: pre-flight, the guard's confirm rules, a run lock,
/// nice/ionice, notifications. `--run`, `rerun`, `resume` and schedules
/// take them (a rerun or resume keeps what its run recorded unless given).
#[derive(Debug, Clone, Default, Args)]
pub struct SafetyArgs {
    /// Check every host before batch 1 (connect, host key, sudo -n for
    /// run_as users, the flow's preflight: checks): warn (report and go on),
    /// strict (start nothing if a host is not ready), skip-unready (leave
    /// those hosts out; `rerun --skipped` reaches them later).
    #[arg(long, value_name = "warn|strict|skip-unready")]
    pub preflight: Option<String>,
    /// Let a guard rule of action `confirm` pass without a console (repeat
    /// for several). --yes is not enough; `block` rules never pass.
    #[arg(long, value_name = "RULE")]
    pub allow: Vec<String>,
    /// Hold this run lock while the run goes (${param} allowed); another run
    /// asking for it waits (--lock-wait) or fails, naming the holder.
    #[arg(long, value_name = "NAME")]
    pub lock: Option<String>,
    /// How long to wait for a held lock: 30s, 10m (default: fail at once).
    #[arg(long, value_name = "DUR")]
    pub lock_wait: Option<String>,
    /// CPU niceness (0-19) of everything the steps start on the hosts.
    #[arg(long, value_name = "N")]
    pub nice: Option<String>,
    /// I/O class of everything the steps start: idle, best-effort,
    /// best-effort:N or N (0 highest, 7 lowest).
    #[arg(long, value_name = "CLASS")]
    pub ionice: Option<String>,
    /// Send word of the run: webhook=URL (POST of a JSON document) or
    /// command=CMD (the JSON on its stdin). Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub notify: Vec<String>,
    /// Events the --notify targets get: started, finished, failed,
    /// recovered, needs_approval, paused, guard, or all (comma-separated;
    /// default failed,recovered,needs_approval,paused,guard).
    #[arg(long, value_name = "EVENTS")]
    pub notify_on: Option<String>,
    /// For a schedule's runs: send `failed` only when N runs in a row failed.
    #[arg(long, value_name = "N")]
    pub notify_after: Option<u32>,
}

/// Narrows a selection by the project → cluster → app tree, or replaces it
/// with an explicit host list.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only hosts of this project.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only hosts of this cluster.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Only hosts of this app.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// An explicit list of inventory hostnames or IPs (comma-separated,
    /// repeatable). It replaces the pattern and the filters above; a name
    /// that is not in the inventory is an error.
    #[arg(long, value_name = "H1,H2", value_delimiter = ',')]
    pub hosts: Vec<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every option and argument of every (sub)command says what it is.
    #[test]
    fn every_option_is_described() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let described = arg
                    .get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty());
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !described && !builtin && !arg.is_hide_set() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "jobdeck", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:#?}");
    }
}
