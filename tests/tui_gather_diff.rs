//! The gathered view compares the hosts that ended after `--gather`'s
//! normalisation (a host's own name is `{host}`): 40 hosts printing their
//! names fold into groups, the title says "38 of 40 alike, 2 differ", and
//! `d` shows each minority group as a diff against the majority, as
//! `--gather --diff` prints it. Snapshots at 80×24 and 160×48.

mod console;
use console::{press, sample_app, screen};

use bytes::Bytes;
use crossterm::event::KeyCode;
use jobdeck::compare::unified_diff;
use jobdeck::engine::events::{Event, EventKind, HostStatus, StepOutcome, Stream};
use jobdeck::tui::app::App;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::views::run::OutputLayout;

const T0: i64 = 1_700_000_000_000;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn at(ms: i64, kind: EventKind) -> Event {
    Event {
        instance: 7,
        at: T0 + ms,
        kind,
    }
}

/// 40 hosts `app-01`..`app-40`, each saying its name; app-13 runs an old
/// version, app-27 fails with a full disk, app-39 and app-40 still run.
fn store() -> SharedRunStore {
    let names: Vec<String> = (1..=42).map(|i| format!("app-{i:02}")).collect();
    let mut store = RunStore::new(7, 64 * 1024);
    store.absorb(&at(
        0,
        EventKind::InstanceStarted {
            flow: "version".into(),
            hosts: names.clone(),
            steps: vec!["version".into()],
            batches: vec![(0..42).collect()],
        },
    ));
    for (h, name) in names.iter().enumerate() {
        store.absorb(&at(
            1,
            EventKind::StepStarted {
                host: h,
                step: 0,
                attempt: 1,
            },
        ));
        let (version, extra, code) = match h {
            12 => ("1.4.1", "", 0),
            26 => ("1.4.2", "cannot write /var/log: disk full\n", 1),
            _ => ("1.4.2", "", 0),
        };
        let text = format!(
            "{name}: service up\n{name}: version {version}\n{extra}listening on 127.0.0.1:8080\n"
        );
        store.absorb(&at(
            2,
            EventKind::Output {
                host: h,
                step: 0,
                stream: Stream::Stdout,
                data: Bytes::from(text.into_bytes()),
            },
        ));
        if h >= 40 {
            continue;
        }
        let status = if code == 0 {
            HostStatus::Ok
        } else {
            HostStatus::Failed
        };
        store.absorb(&at(
            3,
            EventKind::StepFinished {
                host: h,
                step: 0,
                attempt: 1,
                outcome: StepOutcome {
                    status,
                    exit_code: Some(code),
                    signal: None,
                    error: None,
                },
            },
        ));
        store.absorb(&at(4, EventKind::HostFinished { host: h, status }));
    }
    store.shared()
}

fn check(name: &str, app: &App, width: u16, height: u16) {
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![(r"\b\d+(\.\d)?s\b", "Ns")],
    }, {
        insta::assert_snapshot!(name, screen(app, width, height));
    });
}

#[test]
fn the_gathered_view_says_how_many_are_alike_and_d_diffs_the_rest() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        app.show_run_store(store());
        app.run_view_mut().set_fixed_now(T0 + 5_000);
        press(&mut app, KeyCode::Char('b'));
        assert_eq!(app.run_view().layout(), OutputLayout::Gathered);
        let compared = app.run_view().compared().clone();
        assert_eq!(compared.summary, "38 of 40 alike, 2 differ");
        let sizes: Vec<usize> = compared.groups.iter().map(|g| g.hosts.len()).collect();
        assert_eq!(sizes, [38, 1, 1]);
        assert_eq!(compared.unfinished, 2);
        let text = screen(&app, w, h);
        assert!(
            text.contains("38 of 40 alike, 2 differ · 2 not ended"),
            "{text}"
        );
        check("run_gathered_alike", &app, w, h);

        press(&mut app, KeyCode::Char('d'));
        assert!(app.run_view().showing_diff());
        let compared = app.run_view().compared().clone();
        // The same diff `--gather --diff` prints: compare::unified_diff of
        // the normalised outputs, labelled by the folded host names.
        let step = "── step 1/1: version\n";
        let majority = format!(
            "{step}{{host}}: service up\n{{host}}: version 1.4.2\nlistening on 127.0.0.1:8080\n"
        );
        let old = majority.replace("1.4.2", "1.4.1");
        let want = unified_diff(&majority, &old, "app-[01-12,14-26,28-40]", "app-13");
        assert_eq!(compared.groups[1].diff.as_deref(), Some(want.as_str()));
        let text = screen(&app, w, h);
        assert!(text.contains("-{host}: version 1.4.2"), "{text}");
        assert!(text.contains("+{host}: version 1.4.1"), "{text}");
        check("run_gathered_diff", &app, w, h);
        // `d` again: the outputs.
        press(&mut app, KeyCode::Char('d'));
        assert!(!app.run_view().showing_diff());
    }
}
