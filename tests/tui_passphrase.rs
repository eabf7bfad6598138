//! Console passphrase dialogs and plan warnings.
//!
//! Console runs against the real sshd fixture (tests/support) whose only
//! key is encrypted: the transport's question arrives as an
//! `AppMessage::Passphrase`, the app shows it as a dialog and the test
//! answers with keys as an operator would. Snapshots show the masked input;
//! build_plan's warnings reach the console as data and headless stderr as
//! before.

mod console;
use console::{press, pump_until, sample_app, screen, type_keys};

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use jobdeck::engine::events::{HostStatus, InstanceStatus};
use jobdeck::inventory::Inventory;
use jobdeck::transport::Secret;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::RunStore;
use jobdeck::tui::tasks::passphrase::PassphraseRequest;
use jobdeck::tui::theme::Theme;
use jobdeck::tui::widgets::dialog::DialogKind;
use support::SshdFixture;
use tokio::sync::mpsc;

const PASSPHRASE: &str = "correct horse";

fn passphrase_kind(app: &App) -> Option<(String, u32)> {
    match app.dialog().map(|d| &d.kind) {
        Some(DialogKind::Passphrase { key, attempt }) => Some((key.clone(), *attempt)),
        _ => None,
    }
}

// ---- The dialog on its own -------------------------------------------------

/// `~/.ssh/id_ed25519` as the dialog shows it, whatever HOME is.
fn home_key(name: &str) -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME is set");
    Path::new(&home).join(".ssh").join(name)
}

#[test]
fn dialog_snapshots_show_the_mask_never_the_text() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut app = sample_app(width, height);
        let (request, _answer) = PassphraseRequest::new(home_key("id_ed25519"), 1);
        app.on_message(AppMessage::Passphrase(request));
        type_keys(&mut app, "hunter2");
        let text = screen(&app, width, height);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("•••••••▏"), "{text}");
        insta::with_settings!({ snapshot_suffix => format!("{width}x{height}") }, {
            insta::assert_snapshot!("passphrase_dialog", text);
        });
    }
    // A second attempt says the first was wrong, and a waiting key is counted.
    let mut app = sample_app(80, 24);
    let (retry, _a) = PassphraseRequest::new(home_key("id_ed25519"), 2);
    let (other, _b) = PassphraseRequest::new(PathBuf::from("/etc/jobdeck/deploy_key"), 1);
    app.on_message(AppMessage::Passphrase(retry));
    app.on_message(AppMessage::Passphrase(other));
    type_keys(&mut app, "xy");
    let text = screen(&app, 80, 24);
    assert!(!text.contains("xy"), "{text}");
    insta::with_settings!({ snapshot_suffix => "80x24" }, {
        insta::assert_snapshot!("passphrase_retry", text);
    });
}

#[test]
fn questions_queue_and_are_answered_one_at_a_time() {
    let mut app = sample_app(80, 24);
    let (first, mut first_answer) = PassphraseRequest::new(home_key("id_ed25519"), 1);
    let (second, mut second_answer) = PassphraseRequest::new(home_key("id_rsa"), 1);
    app.on_message(AppMessage::Passphrase(first));
    app.on_message(AppMessage::Passphrase(second));
    assert_eq!(passphrase_kind(&app).unwrap().0, "~/.ssh/id_ed25519");
    // Keys that mean something elsewhere ('q' quits, 'y' confirms) type here.
    type_keys(&mut app, "qy s3");
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.dialog().unwrap().masked, Some(4));
    assert!(!app.should_quit());
    assert!(second_answer.try_recv().is_err(), "asked before its turn");
    press(&mut app, KeyCode::Enter);
    let answer = first_answer.try_recv().expect("the first key is answered");
    assert_eq!(answer.as_ref().map(Secret::expose), Some("qy s"));
    // The second question follows with nothing typed.
    assert_eq!(passphrase_kind(&app).unwrap().0, "~/.ssh/id_rsa");
    assert_eq!(app.dialog().unwrap().masked, Some(0));
    // A paste types too; Esc skips the key.
    app.on_event(TermEvent::Paste("pasted".into()));
    assert_eq!(app.dialog().unwrap().masked, Some(6));
    press(&mut app, KeyCode::Esc);
    assert_eq!(second_answer.try_recv().unwrap(), None);
    assert!(app.dialog().is_none());
}

#[test]
fn a_question_waits_behind_another_dialog_and_the_app_dropping_answers_none() {
    let mut app = sample_app(80, 24);
    app.dispatch(Action::SelectAll);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("health-check"));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun)
    );
    let (request, mut answer) = PassphraseRequest::new(home_key("id_ed25519"), 1);
    app.on_message(AppMessage::Passphrase(request));
    // The open question keeps the keyboard; the passphrase comes next.
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun)
    );
    press(&mut app, KeyCode::Char('n'));
    assert!(passphrase_kind(&app).is_some());
    type_keys(&mut app, "abc");
    drop(app);
    // The UI is gone: the asker hears "no answer", which skips the key.
    assert!(matches!(
        answer.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed)
    ));
}

// ---- Console runs against a real sshd ---------------------------------------

struct Lab {
    dir: tempfile::TempDir,
    sshd: SshdFixture,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
            sshd: SshdFixture::start(),
        };
        let flows = lab.dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        std::fs::write(
            flows.join("hello.yml"),
            "name: hello\nsteps:\n  - name: greet\n    command: echo hello-over-ssh\n",
        )
        .unwrap();
        lab
    }

    /// One host, the fixture's sshd, logged into with `key` only.
    fn inventory(&self, key: &Path, extra_options: &str) -> PathBuf {
        let mut text = String::from("[fleet]\n");
        writeln!(
            text,
            "web1 ansible_host=127.0.0.1 ansible_port={port} ansible_user={user} \
             ansible_ssh_private_key_file={key} \
             ansible_ssh_common_args='-o IdentitiesOnly=yes -o UserKnownHostsFile={known} {extra_options}'",
            port = self.sshd.port,
            user = self.sshd.user,
            key = key.display(),
            known = self.sshd.known_hosts.display(),
        )
        .unwrap();
        let path = self.dir.path().join("hosts.ini");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// An app wired to a task channel, with the inventory loaded and the
    /// `hello` flow chosen for web1 in the planner.
    async fn planned_app(&self, inventory: &Path) -> (App, mpsc::Receiver<AppMessage>) {
        let (tx, mut rx) = mpsc::channel(1024);
        let mut app = App::new(Theme::default_theme(), Keymap::builtin());
        app.set_fixed_clock("12:00:00");
        app.dispatch(Action::Resize(160, 48));
        app.set_task_sender(tx);
        app.set_journal(Some(self.dir.path().join("journal.db")));
        let inv = Inventory::load(&[inventory.to_string_lossy().into_owned()]).unwrap();
        app.set_inventory(Arc::new(inv), self.dir.path().to_path_buf());
        pump_until(&mut app, &mut rx, "the flows", |a| {
            a.planner_view()
                .flow_labels()
                .contains(&"hello".to_string())
        })
        .await;
        app.dispatch(Action::SelectAll);
        assert_eq!(app.selection(), ["web1"]);
        press(&mut app, KeyCode::Char('3'));
        assert_eq!(app.current_view(), ViewId::Planner);
        assert!(app.planner_view_mut().choose_flow("hello"));
        (app, rx)
    }
}

fn start(app: &mut App) {
    press(app, KeyCode::Char('s'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun)
    );
    press(app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
}

async fn wait_for_question(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>, attempt: u32) {
    pump_until(app, rx, &format!("passphrase attempt {attempt}"), |a| {
        passphrase_kind(a).is_some_and(|(_, n)| n == attempt)
    })
    .await;
    let (key, _) = passphrase_kind(app).unwrap();
    assert!(key.ends_with("/encrypted_key"), "asked for {key}");
}

/// Waits for the run's end; the one host's status and error.
async fn host_outcome(
    app: &mut App,
    rx: &mut mpsc::Receiver<AppMessage>,
) -> (HostStatus, Option<String>, InstanceStatus) {
    pump_until(app, rx, "the run to start", |a| a.active_run().is_some()).await;
    pump_until(app, rx, "the run to end", |a| a.active_run().is_none()).await;
    let store = app.run_view().store().unwrap().clone();
    let store = RunStore::lock(&store);
    let host = &store.hosts[0];
    (host.status, host.error.clone(), store.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_key_is_unlocked_from_the_dialog() {
    let lab = Lab::new();
    let key = lab.sshd.add_client_key("encrypted_key", PASSPHRASE);
    let (mut app, mut rx) = lab.planned_app(&lab.inventory(&key, "")).await;
    start(&mut app);
    wait_for_question(&mut app, &mut rx, 1).await;
    type_keys(&mut app, PASSPHRASE);
    let text = screen(&app, 160, 48);
    assert!(!text.contains(PASSPHRASE), "{text}");
    assert!(text.contains(&"•".repeat(PASSPHRASE.len())), "{text}");
    press(&mut app, KeyCode::Enter);
    assert!(passphrase_kind(&app).is_none());
    let (status, error, run) = host_outcome(&mut app, &mut rx).await;
    assert_eq!(status, HostStatus::Ok, "{error:?}");
    assert_eq!(run, InstanceStatus::Ok);
    let store = app.run_view().store().unwrap().clone();
    let out: Vec<String> = RunStore::lock(&store).hosts[0]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect();
    assert!(out.iter().any(|l| l.contains("hello-over-ssh")), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_passphrase_is_asked_again() {
    let lab = Lab::new();
    let key = lab.sshd.add_client_key("encrypted_key", PASSPHRASE);
    let (mut app, mut rx) = lab.planned_app(&lab.inventory(&key, "")).await;
    start(&mut app);
    wait_for_question(&mut app, &mut rx, 1).await;
    type_keys(&mut app, "not it");
    press(&mut app, KeyCode::Enter);
    wait_for_question(&mut app, &mut rx, 2).await;
    let text = screen(&app, 160, 48);
    assert!(text.contains("Wrong passphrase, try again"), "{text}");
    type_keys(&mut app, PASSPHRASE);
    press(&mut app, KeyCode::Enter);
    let (status, error, _) = host_outcome(&mut app, &mut rx).await;
    assert_eq!(status, HostStatus::Ok, "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_skips_the_key_and_the_host_fails_authentication() {
    let lab = Lab::new();
    let key = lab.sshd.add_client_key("encrypted_key", PASSPHRASE);
    let (mut app, mut rx) = lab.planned_app(&lab.inventory(&key, "")).await;
    start(&mut app);
    wait_for_question(&mut app, &mut rx, 1).await;
    type_keys(&mut app, "half typ");
    press(&mut app, KeyCode::Esc);
    assert!(passphrase_kind(&app).is_none());
    let (status, error, run) = host_outcome(&mut app, &mut rx).await;
    assert_eq!(status, HostStatus::AuthFailed, "{error:?}");
    assert_eq!(run, InstanceStatus::Failed);
    assert!(
        !error.unwrap_or_default().contains("half typ"),
        "typed text leaked"
    );
}

// ---- build_plan's warnings ---------------------------------------------------

const STRICT_NO: &str = "StrictHostKeyChecking=no is run as accept-new";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_gets_plan_warnings_as_data() {
    let lab = Lab::new();
    let inventory = lab.inventory(&lab.sshd.client_key.clone(), "-o StrictHostKeyChecking=no");
    let (mut app, mut rx) = lab.planned_app(&inventory).await;
    start(&mut app);
    pump_until(&mut app, &mut rx, "the run to start", |a| {
        a.active_run().is_some()
    })
    .await;
    let warnings = app.active_run().unwrap().warnings.clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("host 'web1': ") && warnings[0].contains(STRICT_NO),
        "{warnings:?}"
    );
    let status = app.status_text().unwrap().to_string();
    assert!(status.contains("warning: host 'web1': "), "{status}");
    let (host, error, _) = host_outcome(&mut app, &mut rx).await;
    assert_eq!(host, HostStatus::Ok, "{error:?}");
}

#[test]
fn headless_prints_plan_warnings_on_stderr() {
    let lab = Lab::new();
    let inventory = lab.inventory(&lab.sshd.client_key.clone(), "-o StrictHostKeyChecking=no");
    let out = assert_cmd::Command::cargo_bin("jobdeck")
        .unwrap()
        .current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.dir.path().join("journal.db"))
        .arg("-i")
        .arg(&inventory)
        .args(["--run", "-c", "echo ok"])
        .env_remove("SSH_AUTH_SOCK")
        .env("HOME", lab.dir.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains(STRICT_NO))
        .unwrap_or_else(|| panic!("no warning on stderr:\n{stderr}"));
    assert!(
        line.starts_with("jobdeck: warning: host 'web1': StrictHostKeyChecking=no"),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(STRICT_NO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_with_a_question_open_aborts_without_waiting_for_an_answer() {
    let lab = Lab::new();
    let key = lab.sshd.add_client_key("encrypted_key", PASSPHRASE);
    let (mut app, mut rx) = lab.planned_app(&lab.inventory(&key, "")).await;
    start(&mut app);
    wait_for_question(&mut app, &mut rx, 1).await;
    app.on_event(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::QuitWithRun)
    );
    press(&mut app, KeyCode::Char('a'));
    // The question is not asked again: the aborted run skips the key.
    assert!(passphrase_kind(&app).is_none());
    pump_until(&mut app, &mut rx, "the console to quit", |a| {
        a.should_quit()
    })
    .await;
    assert!(passphrase_kind(&app).is_none());
    let store = app.run_view().store().unwrap().clone();
    let store = RunStore::lock(&store);
    assert_eq!(store.status, InstanceStatus::Aborted);
    assert_ne!(store.hosts[0].status, HostStatus::Ok);
}
