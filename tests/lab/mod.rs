//! Shared helpers for the guardrail tests (guard, locks, pre-flight,
//! manners, notifications): a sandbox that runs the real binary on a real
//! journal with its own config dir, and a small HTTP server on 127.0.0.1
//! that records what it is sent. Needs `mod cli;` beside `mod lab;`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::cli::Sandbox;
pub use crate::cli::run;

/// A sandbox (tests/cli) with a journal, an XDG config dir
/// (`config/jobdeck/`) and helpers to run jobdeck there.
pub struct Lab {
    sandbox: Sandbox,
}

impl std::ops::Deref for Lab {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            sandbox: Sandbox::new(),
        }
    }

    pub fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    /// Writes the config file jobdeck reads in this lab.
    pub fn config(&self, text: &str) -> PathBuf {
        self.write("config/jobdeck/config.toml", text)
    }

    /// jobdeck on this lab's journal, run from the lab, with its own config
    /// dir and home (nothing of the machine's user leaks in).
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("jobdeck").unwrap();
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.journal())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("HOME", self.dir.path())
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .timeout(Duration::from_secs(120));
        cmd
    }

    /// An INI inventory `inventory/hosts.ini` of local hosts, with extra
    /// `[all:vars]`.
    pub fn local_inventory(&self, hosts: &[&str], vars: &[(&str, &str)]) -> PathBuf {
        let mut text = String::from("[lab]\n");
        for host in hosts {
            writeln!(text, "{host} ansible_connection=local").unwrap();
        }
        text.push_str("[all:vars]\n");
        for (k, v) in vars {
            writeln!(text, "{k}={v}").unwrap();
        }
        self.write("inventory/hosts.ini", &text)
    }

    pub fn history(&self) -> Vec<Value> {
        let out = run(self.cmd().args(["history", "--json", "--limit", "0"])).expect(0);
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn last_id(&self) -> i64 {
        self.history()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .max()
            .expect("an instance in history")
    }

    pub fn export(&self, id: i64) -> Value {
        let out = run(self.cmd().args(["export", &id.to_string(), "--json"])).expect(0);
        serde_json::from_str(&out.stdout).unwrap()
    }

    pub fn show(&self, id: i64) -> String {
        run(self.cmd().args(["show", &id.to_string()]))
            .expect(0)
            .stdout
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }
}

/// Host name → status in an export.
pub fn host_statuses(export: &Value) -> Vec<(String, String)> {
    export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_owned(),
                h["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One request the test server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// How the test server answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Reads the request and never answers (until the server stops).
    Hang,
}

/// An HTTP/1.1 server on 127.0.0.1 that records requests; stops when dropped.
pub struct HttpServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(answer: Answer) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        if let Some(request) = read_request(&stream) {
                            seen.lock().unwrap().push(request);
                        }
                        match answer {
                            Answer::Status(code) => respond(stream, code),
                            Answer::Hang => held.push(stream),
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HttpServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits up to 20 s for at least `n` requests.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        for _ in 0..2000 {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("expected {n} requests, got {:?}", self.requests());
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A URL on 127.0.0.1 where nothing listens.
pub fn down_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/hook")
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn respond(mut stream: TcpStream, code: u16) {
    let body = if code < 300 { "ok" } else { "no" };
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A path made for a `--flag PATH`.
pub fn s(path: &Path) -> String {
    path.display().to_string()
}
