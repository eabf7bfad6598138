//! History's rerun and resume run inside the console: a past run recorded
//! by the real binary through the sshd fixture (tests/support), then the
//! console (a real App with its runtime, drawn into TestBackend) asked to
//! run it again. The new run joins the Run view's list, asks its questions
//! there, and lands in the journal as the CLI's rerun or resume would.

mod console;
mod support;

use console::{press, pump_until, screen, type_keys};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::KeyCode;
use jobdeck::engine::events::{HostStatus, InstanceStatus};
use jobdeck::inventory::Inventory;
use jobdeck::journal::Journal;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::theme::Theme;
use jobdeck::tui::widgets::dialog::DialogKind;
use support::SshdFixture;
use tokio::sync::mpsc;

/// Two hosts on the fixture's sshd and flows that fail on the hosts named
/// in the file `failing` (one name a line), beside them.
struct Lab {
    dir: tempfile::TempDir,
    _sshd: SshdFixture,
}

impl Lab {
    fn new() -> Lab {
        let sshd = SshdFixture::start();
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("[fleet]\n");
        for name in ["web1", "web2"] {
            // Only the fixture's key: a key of the machine's with a
            // passphrase would ask in a dialog nobody answers here.
            let line = sshd.host_line(name, sshd.port).replace(
                "-o UserKnownHostsFile",
                "-o IdentitiesOnly=yes -o UserKnownHostsFile",
            );
            writeln!(text, "{line}").unwrap();
        }
        std::fs::write(dir.path().join("hosts.ini"), text).unwrap();
        let failing = dir.path().join("failing");
        let step = format!(
            "  - name: check\n    command: \"! grep -qx $JOBDECK_HOST {} && echo ran-on-$JOBDECK_HOST\"\n",
            failing.display()
        );
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        std::fs::write(
            flows.join("picky.yml"),
            format!("name: picky\nsteps:\n{step}"),
        )
        .unwrap();
        std::fs::write(
            flows.join("gated.yml"),
            format!("name: gated\nrollout:\n  batches: 1 1\n  mode: confirm\nsteps:\n{step}"),
        )
        .unwrap();
        // The token's value is checked against a file beside the flow: the
        // flow (whose text the journal keeps) never holds it.
        std::fs::write(
            flows.join("keyed.yml"),
            format!(
                "name: keyed\nparams:\n  token: {{type: string, secret: true, required: true}}\n\
                 steps:\n  - name: check\n    command: |\n\
                 \x20     if grep -qx \"$JOBDECK_HOST\" {failing}; then exit 1; fi\n\
                 \x20     test \"$token\" = \"$(cat {expected})\" || {{ echo wrong-token; exit 2; }}\n\
                 \x20     echo \"token is $token\"\n\
                 \x20     echo \"ran-on-$JOBDECK_HOST\"\n",
                failing = failing.display(),
                expected = dir.path().join("expected-token").display(),
            ),
        )
        .unwrap();
        Lab { dir, _sshd: sshd }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    /// The value the keyed flow's token must have, written where its
    /// step reads it.
    fn expect_token(&self) -> String {
        let token = format!("s3cr3t-{:x}", std::process::id() as u64 * 7919 + 11);
        std::fs::write(self.path("expected-token"), &token).unwrap();
        token
    }

    /// Hosts whose check fails from now on.
    fn fail_on(&self, hosts: &[&str]) {
        let text: String = hosts.iter().map(|h| format!("{h}\n")).collect();
        std::fs::write(self.path("failing"), text).unwrap();
    }

    /// `jobdeck -i hosts.ini ARGS` on the lab's journal; its exit code.
    fn jobdeck(&self, args: &[&str]) -> i32 {
        let mut all = vec!["-i", "hosts.ini"];
        all.extend_from_slice(args);
        let (code, out, err) = support::jobdeck_on(self.dir.path(), &self.journal(), &all);
        eprintln!("jobdeck {args:?}: exit {code}\n{out}\n{err}");
        code
    }

    /// The console on the lab's inventory and journal, in History with
    /// the journal's runs listed.
    async fn console(&self) -> (App, mpsc::Receiver<AppMessage>) {
        let (tx, mut rx) = mpsc::channel(1024);
        let mut app = App::new(Theme::default_theme(), Keymap::builtin());
        app.set_fixed_clock("12:00:00");
        app.dispatch(Action::Resize(160, 48));
        app.set_task_sender(tx);
        app.set_journal(Some(self.journal()));
        app.set_journal_path(self.journal());
        let inv =
            Inventory::load(&[self.path("hosts.ini").to_string_lossy().into_owned()]).unwrap();
        app.set_inventory(Arc::new(inv), self.dir.path().to_path_buf());
        app.dispatch(Action::ShowView(ViewId::History));
        pump_until(&mut app, &mut rx, "History's list", |a| {
            !a.history_view().visible().is_empty()
        })
        .await;
        (app, rx)
    }
}

fn host_names(store: &SharedRunStore) -> Vec<String> {
    RunStore::lock(store)
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .collect()
}

fn lines_of(store: &SharedRunStore, host: usize) -> Vec<String> {
    lines_of_locked(&RunStore::lock(store), host)
}

fn lines_of_locked(store: &RunStore, host: usize) -> Vec<String> {
    store.hosts[host]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect()
}

fn journal_detail(journal: &Path, id: i64) -> jobdeck::journal::InstanceDetail {
    Journal::open(journal)
        .unwrap()
        .instance(id)
        .unwrap()
        .unwrap()
}

/// Asks History for `action` on the run under the cursor and answers its
/// question with `y`; returns the store the Run view then shows.
fn ask_and_start(app: &mut App, action: Action, asked: DialogKind) -> SharedRunStore {
    app.dispatch(action);
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(asked),
        "{:?}",
        app.status_text()
    );
    press(app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run, "{:?}", app.status_text());
    app.run_view().store().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_from_history_runs_the_failed_hosts_in_the_run_list() {
    let lab = Lab::new();
    lab.fail_on(&["web2"]);
    assert_ne!(lab.jobdeck(&["--run", "flows/picky.yml"]), 0);
    lab.fail_on(&[]);
    let (mut app, mut rx) = lab.console().await;
    let store = ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    assert_eq!(app.run_list(), (1, 0));
    pump_until(&mut app, &mut rx, "the rerun to start", |a| {
        a.live_runs().iter().any(|h| Arc::ptr_eq(&h.store, &store))
    })
    .await;
    pump_until(&mut app, &mut rx, "the rerun to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    let id = RunStore::lock(&store).instance;
    assert_eq!(id, 2);
    assert_eq!(host_names(&store), ["web2"]);
    {
        let s = RunStore::lock(&store);
        assert_eq!(s.status, InstanceStatus::Ok, "{:?}", s.reason);
    }
    assert!(lines_of(&store, 0).contains(&"ran-on-web2".to_string()));
    let detail = journal_detail(&lab.journal(), id);
    assert_eq!(detail.instance.trigger.to_string(), "rerun:1");
    assert_eq!(detail.instance.parent, Some(1));
    assert_eq!(detail.instance.status, InstanceStatus::Ok);
    let hosts: Vec<&str> = detail.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hosts, ["web2"]);
    // The run list row names it like any console run.
    assert_eq!(app.run_list(), (1, 0));
    assert!(screen(&app, 160, 48).contains("picky"));
}

/// A confirm-mode flow's rerun asks its batch question in the console (the
/// headless child it once was refused: "needs an operator").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_mode_rerun_asks_its_batch_question_in_the_console() {
    let lab = Lab::new();
    lab.fail_on(&["web1", "web2"]);
    assert_ne!(lab.jobdeck(&["--run", "flows/gated.yml", "--yes"]), 0);
    lab.fail_on(&[]);
    let (mut app, mut rx) = lab.console().await;
    let store = ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    pump_until(&mut app, &mut rx, "the batch question", |a| {
        matches!(
            a.dialog().map(|d| d.kind.clone()),
            Some(DialogKind::ConfirmBatch { next_batch: 1 })
        )
    })
    .await;
    assert!(
        app.active_run().is_some(),
        "the rerun is live while it asks"
    );
    assert_eq!(RunStore::lock(&store).hosts[0].status, HostStatus::Ok);
    assert_eq!(RunStore::lock(&store).hosts[1].status, HostStatus::Pending);
    // Later: then quitting with the rerun live asks about it as about any
    // live run.
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog().is_none());
    let id = RunStore::lock(&store).instance;
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    assert_eq!(
        app.dialog().map(|d| d.title.clone()),
        Some(format!("Run {id} is still active"))
    );
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    // Stayed: the Run view's `c` confirms the waiting batch.
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.status_text(), Some("confirmed"));
    pump_until(&mut app, &mut rx, "the rerun to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    let s = RunStore::lock(&store);
    assert_eq!(s.status, InstanceStatus::Ok, "{:?}", s.reason);
    assert!(s.hosts.iter().all(|h| h.status == HostStatus::Ok));
    assert!(lines_of_locked(&s, 1).contains(&"ran-on-web2".to_string()));
    let detail = journal_detail(&lab.journal(), s.instance);
    assert_eq!(detail.instance.trigger.to_string(), "rerun:1");
}

/// An interrupted run (paused after a failed batch, headless) resumed with
/// `u`: the hosts not done run under the same id, in the run list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_history_continues_the_run_under_its_own_id() {
    let lab = Lab::new();
    lab.fail_on(&["web1"]);
    assert_ne!(
        lab.jobdeck(&["--run", "flows/picky.yml", "--batches", "1 1"]),
        0
    );
    assert_eq!(
        journal_detail(&lab.journal(), 1).instance.status,
        InstanceStatus::Interrupted
    );
    let (mut app, mut rx) = lab.console().await;
    let store = ask_and_start(&mut app, Action::ResumeRun, DialogKind::Resume { id: 1 });
    assert_eq!(app.run_list(), (1, 0));
    pump_until(&mut app, &mut rx, "the resume to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    {
        let s = RunStore::lock(&store);
        assert_eq!(s.instance, 1, "a resume keeps the run's id");
        assert_eq!(s.hosts[1].status, HostStatus::Ok, "{:?}", s.reason);
    }
    assert!(lines_of(&store, 1).contains(&"ran-on-web2".to_string()));
    let detail = journal_detail(&lab.journal(), 1);
    assert_ne!(detail.instance.status, InstanceStatus::Interrupted);
    let web2 = detail.hosts.iter().find(|h| h.name == "web2").unwrap();
    assert_eq!(web2.status, HostStatus::Ok);
    assert_eq!(
        Journal::open(lab.journal())
            .unwrap()
            .instance(2)
            .unwrap()
            .map(|d| d.instance.id),
        None,
        "no new run"
    );
    // The Run view's `R` on the resumed run, now ended with web1 failed:
    // the same question, and the rerun joins the list beside it.
    lab.fail_on(&[]);
    assert_eq!(app.current_view(), ViewId::Run);
    let rerun = ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    assert_eq!(app.run_list(), (2, 1));
    pump_until(&mut app, &mut rx, "the rerun to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&rerun).is_finished()
    })
    .await;
    assert_eq!(host_names(&rerun), ["web1"]);
    assert_eq!(RunStore::lock(&rerun).status, InstanceStatus::Ok);
    assert_eq!(journal_detail(&lab.journal(), 2).instance.parent, Some(1));
}

/// A rerun with nothing to run (a run the guard stopped before any host
/// ran) says so in the status line and leaves no empty run in the list;
/// the view it was asked from comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_rerun_shows_in_the_status_line_and_leaves_no_run() {
    let lab = Lab::new();
    // A shell function stands in for rm, in case the guard let it through.
    let command = r#"rm() { echo "would-rm $*"; }; rm -rf / tmp/x"#;
    assert_ne!(lab.jobdeck(&["--run", "-c", command]), 0);
    let (mut app, mut rx) = lab.console().await;
    let store = ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    pump_until(&mut app, &mut rx, "the rerun's answer", |a| {
        a.status_text()
            .is_some_and(|t| t.contains("nothing to rerun"))
    })
    .await;
    assert_eq!(
        app.status_text(),
        Some("run 1 has no failed hosts; nothing to rerun")
    );
    assert_eq!(app.run_list().0, 0);
    assert!(app.listed_runs().iter().all(|s| !Arc::ptr_eq(s, &store)));
    assert!(app.live_runs().is_empty());
    assert_eq!(app.current_view(), ViewId::History);
    assert_eq!(
        Journal::open(lab.journal())
            .unwrap()
            .instance(2)
            .unwrap()
            .map(|d| d.instance.id),
        None,
        "nothing recorded"
    );
}

// ------------------------------------------------------- secret params

/// Every text and blob value in every table of the journal, read through
/// SQLite (the process holds connections: the file is never read directly).
fn journal_values(journal: &Path) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(journal).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut values = Vec::new();
    for table in tables {
        let mut query = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = query.column_count();
        let mut rows = query.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for c in 0..columns {
                let text = match row.get_ref(c).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    _ => continue,
                };
                values.push((table.clone(), text));
            }
        }
    }
    values
}

fn assert_not_in_journal(journal: &Path, secret: &str) {
    let values = journal_values(journal);
    // The run's output is among what is read: masked where it was.
    assert!(
        values.iter().any(|(_, text)| text.contains("token is ***")),
        "no output read: {values:?}"
    );
    for (table, text) in values {
        assert!(
            !text.contains(secret),
            "the secret is in table {table}: {text}"
        );
    }
}

fn instance_count(journal: &Path) -> i64 {
    rusqlite::Connection::open(journal)
        .unwrap()
        .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
        .unwrap()
}

/// Waits for the secret param dialog asking `name` for run `id`.
async fn until_asked(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>, id: i64, name: &str) {
    let asked = DialogKind::SecretParam {
        id,
        name: name.into(),
    };
    pump_until(app, rx, "the secret param question", |a| {
        a.dialog().map(|d| &d.kind) == Some(&asked)
    })
    .await;
}

/// A rerun of a run with a required secret param asks for it in a masked
/// dialog, then runs with it: the command sees it, the output shows it
/// masked, and neither the screen, the status line nor the journal hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_asks_for_its_secret_param_and_runs_with_it() {
    let lab = Lab::new();
    let token = lab.expect_token();
    lab.fail_on(&["web2"]);
    let param = format!("token={token}");
    assert_ne!(lab.jobdeck(&["--run", "flows/keyed.yml", "-p", &param]), 0);
    lab.fail_on(&[]);
    let (mut app, mut rx) = lab.console().await;
    ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    until_asked(&mut app, &mut rx, 1, "token").await;
    // Nothing recorded while it asks, and no empty run in the list.
    assert_eq!(instance_count(&lab.journal()), 1);
    assert_eq!(app.run_list().0, 0);
    assert_eq!(
        app.status_text(),
        Some("the rerun of #1 needs its secret params, never stored: 'token'")
    );
    type_keys(&mut app, &token);
    let shown = screen(&app, 160, 48);
    assert!(
        shown.contains(&format!("> {}▏", "•".repeat(token.chars().count()))),
        "{shown}"
    );
    assert!(
        shown.contains("Secret param 'token' for the rerun of #1"),
        "{shown}"
    );
    assert!(!shown.contains(&token), "{shown}");
    press(&mut app, KeyCode::Enter);
    assert!(app.dialog().is_none());
    assert_eq!(app.current_view(), ViewId::Run, "{:?}", app.status_text());
    assert_eq!(app.status_text(), Some("starting rerun of #1…"));
    let store = app.run_view().store().unwrap().clone();
    pump_until(&mut app, &mut rx, "the rerun to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    {
        let s = RunStore::lock(&store);
        assert_eq!(s.instance, 2);
        assert_eq!(s.status, InstanceStatus::Ok, "{:?}", s.reason);
    }
    assert_eq!(host_names(&store), ["web2"]);
    let lines = lines_of(&store, 0);
    assert!(lines.contains(&"token is ***".to_string()), "{lines:?}");
    assert!(lines.contains(&"ran-on-web2".to_string()), "{lines:?}");
    assert!(!screen(&app, 160, 48).contains(&token));
    assert!(!app.status_text().unwrap_or_default().contains(&token));
    let detail = journal_detail(&lab.journal(), 2);
    assert_eq!(detail.instance.trigger.to_string(), "rerun:1");
    assert_eq!(detail.instance.secret_params, ["token"]);
    assert_not_in_journal(&lab.journal(), &token);
}

/// Esc in the secret param dialog cancels the rerun: the status line says
/// so, nothing is recorded and the run list stays empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_in_the_secret_param_dialog_cancels_the_rerun() {
    let lab = Lab::new();
    let token = lab.expect_token();
    lab.fail_on(&["web2"]);
    let param = format!("token={token}");
    assert_ne!(lab.jobdeck(&["--run", "flows/keyed.yml", "-p", &param]), 0);
    let (mut app, mut rx) = lab.console().await;
    ask_and_start(&mut app, Action::RerunFailed, DialogKind::Rerun { id: 1 });
    until_asked(&mut app, &mut rx, 1, "token").await;
    type_keys(&mut app, "half-typed");
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog().is_none());
    assert_eq!(
        app.status_text(),
        Some("rerun of #1 cancelled: its secret params were not given; nothing was recorded")
    );
    assert_eq!(app.run_list().0, 0);
    assert!(app.listed_runs().is_empty());
    assert!(app.live_runs().is_empty());
    assert_eq!(app.current_view(), ViewId::History);
    assert_eq!(instance_count(&lab.journal()), 1);
    // Nothing arrives later either.
    for _ in 0..10 {
        app.tick();
        if let Ok(message) = rx.try_recv() {
            app.on_message(message);
        }
    }
    assert_eq!(app.run_list().0, 0);
    assert_eq!(instance_count(&lab.journal()), 1);
}

/// A resume of an interrupted run with a secret param asks for it before
/// the run is claimed, then continues the run under its own id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_asks_for_its_secret_param_then_continues_the_run() {
    let lab = Lab::new();
    let token = lab.expect_token();
    lab.fail_on(&["web1"]);
    let param = format!("token={token}");
    assert_ne!(
        lab.jobdeck(&["--run", "flows/keyed.yml", "--batches", "1 1", "-p", &param]),
        0
    );
    assert_eq!(
        journal_detail(&lab.journal(), 1).instance.status,
        InstanceStatus::Interrupted
    );
    let (mut app, mut rx) = lab.console().await;
    ask_and_start(&mut app, Action::ResumeRun, DialogKind::Resume { id: 1 });
    until_asked(&mut app, &mut rx, 1, "token").await;
    // Not claimed while it asks.
    assert_eq!(
        journal_detail(&lab.journal(), 1).instance.status,
        InstanceStatus::Interrupted
    );
    type_keys(&mut app, &token);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.current_view(), ViewId::Run, "{:?}", app.status_text());
    let store = app.run_view().store().unwrap().clone();
    pump_until(&mut app, &mut rx, "the resume to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    {
        let s = RunStore::lock(&store);
        assert_eq!(s.instance, 1, "a resume keeps the run's id");
        assert_eq!(s.hosts[1].status, HostStatus::Ok, "{:?}", s.reason);
    }
    let lines = lines_of(&store, 1);
    assert!(lines.contains(&"token is ***".to_string()), "{lines:?}");
    assert!(lines.contains(&"ran-on-web2".to_string()), "{lines:?}");
    let detail = journal_detail(&lab.journal(), 1);
    let web2 = detail.hosts.iter().find(|h| h.name == "web2").unwrap();
    assert_eq!(web2.status, HostStatus::Ok);
    assert_eq!(instance_count(&lab.journal()), 1, "no new run");
    assert_not_in_journal(&lab.journal(), &token);
}
