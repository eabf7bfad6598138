//! Notifications through the real binary: an HTTP server on 127.0.0.1
//! started by the test (answering 200, 500, or never), one that is down,
//! local command targets, and the journal's record of each delivery.

mod cli;
mod lab;

use std::time::{Duration, Instant};

use lab::{Answer, HttpServer, Lab, down_url, run, s};
use serde_json::Value;

fn deliveries(lab: &Lab, id: i64) -> Vec<Value> {
    lab.export(id)["notifications"].as_array().unwrap().clone()
}

#[test]
fn a_failed_run_posts_the_document_to_every_target_without_a_secret() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(200));
    lab.config(&format!(
        "[[notify]]\nwebhook = \"{}\"\nheaders = {{ Authorization = \"Bearer ${{env:JD_HOOK_TOKEN}}\" }}\n",
        server.url("/from-config")
    ));
    let inv = s(&lab.local_inventory(&["h1", "h2"], &[]));
    let flow = s(&lab.write(
        "inventory/flows/deploy.yml",
        "name: deploy\nparams:\n  token: {type: string, secret: true, required: true}\nsteps:\n  - name: install\n    command: 'if [ \"$JOBDECK_HOST\" = h2 ]; then echo \"bad token ${token}\" >&2; echo second line >&2; exit 4; fi'\n",
    ));
    let started = Instant::now();
    let out = run(lab
        .cmd()
        .env("JD_HOOK_TOKEN", "tok-123")
        .args(["-i", &inv, "--run", &flow, "-p", "token=hunter2-secret"])
        .args(["--notify", &format!("webhook={}", server.url("/from-cli"))]))
    .expect(1);
    let requests = server.wait_for(2);
    let id = lab.last_id();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["/from-cli", "/from-config"]);
    let from_config = requests.iter().find(|r| r.path == "/from-config").unwrap();
    assert_eq!(from_config.method, "POST");
    assert_eq!(from_config.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(from_config.header("content-type"), Some("application/json"));
    let doc = from_config.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["event"], "failed");
    assert_eq!(doc["instance"], id);
    assert_eq!(doc["flow"], "deploy");
    assert_eq!(doc["trigger"], "cli");
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["reason"], "1 of 2 host(s) failed");
    assert_eq!(
        doc["counts"],
        serde_json::json!({"hosts": 2, "ok": 1, "failed": 1, "skipped": 0, "other": 0})
    );
    assert_eq!(doc["failed_hosts_total"], 1);
    assert_eq!(
        doc["failed_hosts"][0],
        serde_json::json!({"host": "h2", "status": "failed", "step": "install", "error": "bad token ***"})
    );
    assert!(doc["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(doc["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(
        doc["show"],
        format!("jobdeck show {id} --journal '{}'", s(&lab.journal()))
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    // No secret anywhere: not in a body, not in the journal.
    for request in &requests {
        assert!(!request.body.contains("hunter2-secret"), "{}", request.body);
        assert!(!request.body.contains("tok-123"), "{}", request.body);
    }
    let export = lab.export(id).to_string();
    assert!(!export.contains("hunter2-secret") && !export.contains("tok-123"));
    assert!(!out.stdout.contains("hunter2-secret"));
    // Each delivery is recorded and shown.
    let recorded = deliveries(&lab, id);
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|d| d["outcome"] == "sent"
        && d["http_status"] == 200
        && d["attempts"] == 1
        && d["event"] == "failed"));
    let show = lab.show(id);
    for path in ["/from-cli", "/from-config"] {
        assert!(
            show.contains(&format!(
                "failed → webhook {}: sent (HTTP 200, 1 attempt,",
                server.url(path)
            )),
            "{show}"
        );
    }
    assert!(show.contains("\n  notified:  failed → webhook "), "{show}");
}

#[test]
fn a_server_answering_500_is_retried_then_recorded_as_failed() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(500));
    lab.config(&format!(
        "[[notify]]\nwebhook = \"{}\"\non = [\"finished\"]\nretries = 2\nbackoff = \"50ms\"\n",
        server.url("/hook")
    ));
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let out = run(lab.cmd().args(["-i", &inv, "--run", "-c", "true"])).expect(0);
    assert_eq!(server.requests().len(), 3);
    let d = &deliveries(&lab, lab.last_id())[0];
    assert_eq!(d["outcome"], "failed");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["http_status"], 500);
    assert_eq!(d["error"], "HTTP 500");
    assert!(
        out.stderr.contains("notification 'finished' to webhook")
            && out.stderr.contains("failed after 3 attempt(s): HTTP 500"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_server_that_is_down_or_never_answers_does_not_hold_the_run_up() {
    let lab = Lab::new();
    let hanging = HttpServer::start(Answer::Hang);
    lab.config(&format!(
        "[[notify]]\nwebhook = \"{}\"\non = [\"finished\"]\nretries = 1\nbackoff = \"50ms\"\n\n[[notify]]\nwebhook = \"{}\"\non = [\"started\", \"finished\"]\ntimeout = \"3s\"\nretries = 0\n",
        down_url(),
        hanging.url("/slow")
    ));
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let began = Instant::now();
    run(lab.cmd().args(["-i", &inv, "--run", "-c", "true"])).expect(0);
    // jobdeck waited for the deliveries in flight before it exited...
    assert!(began.elapsed() >= Duration::from_secs(3));
    let id = lab.last_id();
    let export = lab.export(id);
    // ...but the run itself did not wait for the `started` delivery.
    let instance = &export["instance"];
    let took = instance["finished_at"].as_i64().unwrap() - instance["started_at"].as_i64().unwrap();
    assert!(took < 2_500, "the run took {took} ms");
    let recorded = deliveries(&lab, id);
    let down = recorded
        .iter()
        .find(|d| d["target"].as_str().unwrap().contains("/hook"))
        .unwrap();
    assert_eq!(down["outcome"], "failed");
    assert_eq!(down["attempts"], 2);
    assert_eq!(down["http_status"], Value::Null);
    assert!(
        down["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{down}"
    );
    let slow: Vec<&Value> = recorded
        .iter()
        .filter(|d| d["target"].as_str().unwrap().contains("/slow"))
        .collect();
    assert_eq!(slow.len(), 2, "{recorded:?}");
    assert!(slow.iter().all(|d| {
        d["outcome"] == "failed"
            && d["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("timeout")
    }));
}

#[test]
fn a_command_target_gets_the_document_on_stdin() {
    let lab = Lab::new();
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let target = format!("command=cat > {}", s(&lab.path("doc.json")));
    run(lab.cmd().args([
        "-i",
        &inv,
        "--notify",
        &target,
        "--notify-on",
        "finished",
        "--run",
        "-c",
        "true",
    ]))
    .expect(0);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("doc.json")).unwrap()).unwrap();
    assert_eq!(doc["event"], "finished");
    assert_eq!(doc["status"], "ok");
    let d = &deliveries(&lab, lab.last_id())[0];
    assert_eq!(
        d["target"],
        format!("command cat > {}", s(&lab.path("doc.json")))
    );
    assert_eq!(d["outcome"], "sent");
}

#[test]
fn recovered_follows_a_failure_of_the_same_flow_on_the_same_targets() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(200));
    let inv = s(&lab.local_inventory(&["h1", "h2"], &[]));
    let hook = format!("webhook={}", server.url("/hook"));
    let command = format!("test ! -e {}", s(&lab.path("broken")));
    let go = |extra: &[&str]| {
        let mut cmd = lab.cmd();
        cmd.args(["-i", &inv, "--notify", &hook, "--run", "-c", &command])
            .args(extra);
        run(&mut cmd)
    };
    lab.write("broken", "");
    go(&[]).expect(1);
    assert_eq!(server.wait_for(1)[0].json()["event"], "failed");
    std::fs::remove_file(lab.path("broken")).unwrap();
    // Other targets (--limit) are another series: ok, but no recovery.
    go(&["--limit", "h1"]).expect(0);
    go(&[]).expect(0);
    let requests = server.wait_for(2);
    assert_eq!(requests.len(), 2, "{requests:?}");
    let doc = requests[1].json();
    assert_eq!(doc["event"], "recovered");
    assert_eq!(doc["status"], "ok");
    go(&[]).expect(0);
    assert_eq!(
        server.requests().len(),
        2,
        "a second success is no recovery"
    );
}

#[test]
fn a_schedules_failures_are_told_once_n_fail_in_a_row() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(200));
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let hook = format!("webhook={}", server.url("/hook"));
    let fire = |command: &str| {
        run(lab.cmd().args([
            "-i",
            &inv,
            "--trigger",
            "schedule:7",
            "--notify",
            &hook,
            "--notify-on",
            "failed,recovered",
            "--notify-after",
            "2",
            "--run",
            "-c",
            command,
        ]))
    };
    fire("false").expect(1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.requests().is_empty(), "one failure is not told");
    fire("false").expect(1);
    let told = server.wait_for(1);
    assert_eq!(told[0].json()["event"], "failed");
    assert_eq!(told[0].json()["trigger"], "schedule:7");
    fire("false").expect(1);
    fire("true").expect(0);
    let requests = server.wait_for(2);
    let events: Vec<Value> = requests.iter().map(|r| r.json()["event"].clone()).collect();
    assert_eq!(
        events,
        ["failed", "recovered"],
        "the third failure is not told again"
    );
}

#[test]
fn retries_of_a_host_do_not_notify_until_its_last_attempt() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(200));
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let flow = |need: u32| {
        s(&lab.write(
            &format!("inventory/flows/retry{need}.yml"),
            format!(
                "name: retry\nsteps:\n  - command: 'n=$$(( $$(cat {c} 2>/dev/null || echo 0) + 1 )); echo $$n > {c}; echo \"try $$n\" >&2; [ $$n -ge {need} ]'\n    retries: 2\n    retry_interval: 10ms\n",
                c = s(&lab.path(&format!("count{need}"))),
            ),
        ))
    };
    let hook = format!("webhook={}", server.url("/hook"));
    // Ok at the third attempt: the run is fine, nobody is told of a failure.
    run(lab.cmd().args([
        "-i",
        &inv,
        "--notify",
        &hook,
        "--notify-on",
        "failed,finished",
        "--run",
        &flow(3),
    ]))
    .expect(0);
    let first = server.wait_for(1);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].json()["event"], "finished");
    // Failing every attempt: one `failed`, with the last attempt's error.
    run(lab
        .cmd()
        .args(["-i", &inv, "--notify", &hook, "--run", &flow(9)]))
    .expect(1);
    let all = server.wait_for(2);
    assert_eq!(all.len(), 2);
    let doc = all[1].json();
    assert_eq!(doc["event"], "failed");
    assert_eq!(doc["failed_hosts"][0]["error"], "try 3");
}
