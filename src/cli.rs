//! Command-line definitions (clap). `jobdeck` with no command opens the
//! console; subcommands serve scripts and CI.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

#[derive(Debug, Parser)]
#[command(
    name = "jobdeck",
    version,
    about = "A terminal operations console: ansible-style inventory, staged rollouts over SSH, a SQLite journal",
    propagate_version = true
)]
pub struct Cli {
    /// Inventory source: a file, a directory of inventory files, or a
    /// comma-separated host list. Repeat to combine sources, as with Ansible.
    /// Default: ./inventory if it exists, otherwise the bundled sample-inventory/.
    #[arg(short = 'i', long = "inventory", value_name = "SOURCE", global = true)]
    pub inventory: Vec<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the inventory: the project → cluster → app tree, host selection, host details.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Plan staged rollouts: preview how a batch expression splits the hosts.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Schedules: crontab expressions and one-shot times.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
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
        /// zone, or RFC 3339 with an offset. Default: now.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin. Default: the local zone.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
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
    },
    /// Show a host's merged variables, its groups and its connection settings.
    Show {
        /// The host's inventory name.
        host: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
