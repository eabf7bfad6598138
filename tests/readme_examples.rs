//! Every `sh` example of README.md runs as written: the blocks in README
//! order, each command with `bash`, from a directory holding a fresh copy of
//! sample-inventory/ (as the clone does), with `jobdeck` on the PATH and a
//! fresh home (so a fresh default journal). Each must exit 0.
//!
//! A block that cannot run here says so on the line above its fence:
//! `<!-- readme-test: not run: WHY -->`. The sample's lab directory
//! (`/tmp/jobdeck-lab`, where its flows keep state) is moved into the
//! sandbox, so the test neither depends on nor touches the machine's.

use std::path::{Path, PathBuf};
use std::process::Command;

mod cli;

const SKIP_MARK: &str = "<!-- readme-test: not run: ";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One fenced `sh` block: the README line of its fence and its commands.
#[derive(Debug)]
struct Block {
    line: usize,
    commands: Vec<String>,
    skip: Option<String>,
}

/// The `sh` blocks of a Markdown text; a command continued with `\` is
/// joined, comment lines and blank lines are dropped.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```sh" {
            i += 1;
            continue;
        }
        let fence = i;
        let skip = fence
            .checked_sub(1)
            .and_then(|above| lines[above].strip_prefix(SKIP_MARK))
            .map(|rest| rest.trim_end_matches("-->").trim().to_owned());
        let mut commands = Vec::new();
        let mut pending = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            let line = lines[i];
            i += 1;
            if pending.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#'))
            {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(head) => {
                    pending.push_str(head);
                    pending.push(' ');
                }
                None => {
                    pending.push_str(line);
                    commands.push(std::mem::take(&mut pending));
                }
            }
        }
        blocks.push(Block {
            line: fence + 1,
            commands,
            skip,
        });
        i += 1;
    }
    blocks
}

#[test]
fn every_readme_example_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("clone");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    cli::copy_sample_inventory(
        &work.join("sample-inventory"),
        &tmp.path().join("jobdeck-lab"),
    );
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_jobdeck")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut failures = Vec::new();
    let mut ran = 0;
    for block in &blocks {
        if let Some(why) = &block.skip {
            assert!(
                !why.is_empty(),
                "README.md:{}: say why the block is not run",
                block.line
            );
            continue;
        }
        for command in &block.commands {
            ran += 1;
            let out = Command::new("timeout")
                .args(["120", "bash", "-c", command])
                .current_dir(&work)
                .env("PATH", &path)
                .env("HOME", &home)
                .env_remove("XDG_DATA_HOME")
                .env_remove("XDG_CONFIG_HOME")
                .env_remove("SSH_AUTH_SOCK")
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "README.md:{}: `{command}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
                    block.line,
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The examples ran for real: "A first run", selections, runs, history, schedules.
    assert!(ran >= 25, "only {ran} commands found in README.md");
    let journal = home.join(".local/share/jobdeck/journal.db");
    assert!(journal.is_file(), "the default journal was used");
    assert!(
        tmp.path()
            .join("jobdeck-lab/local-1/lab-app/current/VERSION")
            .is_file(),
        "the first run's deploy deployed"
    );
}

#[test]
fn blocks_and_their_marks_are_read_as_meant() {
    let text = "intro\n```sh\n# a comment\njobdeck a \\\n  --b\n\njobdeck c  # trailing\n```\n\
                <!-- readme-test: not run: needs a terminal -->\n```sh\njobdeck\n```\n\
                ```text\nnot a command\n```\n";
    let blocks = sh_blocks(text);
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[0].commands,
        ["jobdeck a    --b", "jobdeck c  # trailing"]
    );
    assert_eq!(blocks[0].skip, None);
    assert_eq!(blocks[1].skip.as_deref(), Some("needs a terminal"));
    assert_eq!(blocks[1].line, 10);
}
