//! known_hosts files: parsed once per run, shared by every connection.
//!
//! Understood: plain names and `[host]:port`, comma lists, `*` / `?` wildcards, `!`
//! negation, hashed `|1|salt|hash` entries (HMAC-SHA1), `@revoked` lines (a revoked key
//! is refused for every host). `@cert-authority` lines are kept out of matching: host
//! certificates are not verified yet, so a host is checked by its plain key only.
//! Malformed lines are skipped, as OpenSSH does.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use sha1::Sha1;

/// What the known_hosts files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// The key is listed for this host.
    Trusted { file: PathBuf, line: usize },
    /// No line names this host.
    Unknown,
    /// The host is listed with other keys: possibly an attack.
    Changed {
        file: PathBuf,
        line: usize,
        /// The algorithm of the key found at `file:line`.
        known_algorithm: String,
    },
    /// The key is marked `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone)]
enum HostMatcher {
    /// `|1|salt|hash`
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// Comma list of patterns; `bool` is true for a negated (`!`) pattern.
    Patterns(Vec<(bool, String)>),
}

#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    marker: Marker,
    hosts: HostMatcher,
    key: PublicKey,
}

/// One parsed file, plus the lines this run appended to it.
#[derive(Debug, Default)]
struct ParsedFile {
    entries: Vec<Entry>,
    /// Line count, so appended entries get true line numbers.
    lines: usize,
}

/// The known_hosts cache of one run. Files are read on first use and never again.
#[derive(Debug, Default)]
pub struct KnownHosts {
    files: Mutex<HashMap<PathBuf, Arc<RwLock<ParsedFile>>>>,
    /// Serialises appends so two new hosts never interleave their lines.
    writer: Mutex<()>,
}

impl KnownHosts {
    pub fn new() -> Self {
        Self::default()
    }

    fn file(&self, path: &Path) -> Arc<RwLock<ParsedFile>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .entry(path.to_path_buf())
            .or_insert_with(|| Arc::new(RwLock::new(parse_file(path))))
            .clone()
    }

    /// Checks `key` for `host`:`port` against `files`, in order.
    pub fn check(&self, files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> HostKeyCheck {
        let name = lookup_name(host, port);
        let mut trusted = None;
        let mut changed = None;
        for path in files {
            let file = self.file(path);
            let file = file.read().unwrap_or_else(|e| e.into_inner());
            for entry in &file.entries {
                let same_key = entry.key.key_data() == key.key_data();
                match entry.marker {
                    Marker::Revoked if same_key => {
                        return HostKeyCheck::Revoked {
                            file: path.clone(),
                            line: entry.line,
                        };
                    }
                    Marker::Revoked | Marker::CertAuthority => continue,
                    Marker::None => {}
                }
                if !entry.hosts.matches(&name) {
                    continue;
                }
                if same_key {
                    trusted.get_or_insert((path.clone(), entry.line));
                } else {
                    // Prefer reporting a line with the same algorithm as the offered key.
                    let same_algorithm = entry.key.algorithm() == key.algorithm();
                    let replace = match &changed {
                        None => true,
                        Some((_, _, _, was_same)) => same_algorithm && !was_same,
                    };
                    if replace {
                        changed = Some((
                            path.clone(),
                            entry.line,
                            entry.key.algorithm().to_string(),
                            same_algorithm,
                        ));
                    }
                }
            }
        }
        if let Some((file, line)) = trusted {
            return HostKeyCheck::Trusted { file, line };
        }
        match changed {
            Some((file, line, known_algorithm, _)) => HostKeyCheck::Changed {
                file,
                line,
                known_algorithm,
            },
            None => HostKeyCheck::Unknown,
        }
    }

    /// Records a new key: appends a hashed line to `file` (created if needed) and
    /// makes it visible to later checks in this run.
    pub fn append(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let parsed = self.file(file);
        let name = lookup_name(host, port);
        {
            // Another connection to the same host may have recorded it meanwhile.
            let parsed = parsed.read().unwrap_or_else(|e| e.into_inner());
            if parsed.entries.iter().any(|entry| {
                entry.marker == Marker::None
                    && entry.hosts.matches(&name)
                    && entry.key.key_data() == key.key_data()
            }) {
                return Ok(());
            }
        }
        let salt = random_salt()?;
        let hash = hmac_sha1(&salt, name.as_bytes());
        let key_text = key
            .to_openssh()
            .map_err(|e| io::Error::other(format!("cannot encode the host key: {e}")))?;
        // Drop the comment: the key's base64 is the second field.
        let key_text = key_text
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let line = format!(
            "|1|{}|{} {key_text}\n",
            BASE64.encode(&salt),
            BASE64.encode(&hash)
        );

        if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut handle = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        // A file that does not end in a newline would glue our line onto its last one.
        let needs_newline = fs::read(file)
            .map(|bytes| !bytes.is_empty() && !bytes.ends_with(b"\n"))
            .unwrap_or(false);
        if needs_newline {
            handle.write_all(b"\n")?;
        }
        handle.write_all(line.as_bytes())?;
        handle.flush()?;

        let mut parsed = parsed.write().unwrap_or_else(|e| e.into_inner());
        // The newline we may have added ends the last line; it starts none.
        parsed.lines += 1;
        let line_number = parsed.lines;
        parsed.entries.push(Entry {
            line: line_number,
            marker: Marker::None,
            hosts: HostMatcher::Hashed { salt, hash },
            key: key.clone(),
        });
        Ok(())
    }
}

/// The name OpenSSH looks up: `host`, or `[host]:port` off port 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

impl HostMatcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            HostMatcher::Hashed { salt, hash } => hmac_sha1(salt, name.as_bytes()) == *hash,
            HostMatcher::Patterns(patterns) => {
                let name = name.to_ascii_lowercase();
                let mut matched = false;
                for (negated, pattern) in patterns {
                    if wildcard_match(pattern, &name) {
                        if *negated {
                            return false;
                        }
                        matched = true;
                    }
                }
                matched
            }
        }
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn random_salt() -> io::Result<Vec<u8>> {
    use ring::rand::SecureRandom;
    let mut salt = vec![0u8; 20];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| io::Error::other("no system randomness for the known_hosts salt"))?;
    Ok(salt)
}

/// `*` matches any run of characters, `?` any one character. `pattern` is lowercased here.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn parse_file(path: &Path) -> ParsedFile {
    // A missing or unreadable file knows no hosts, as with OpenSSH.
    let Ok(text) = fs::read_to_string(path) else {
        return ParsedFile::default();
    };
    parse_text(&text)
}

fn parse_text(text: &str) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    for (index, line) in text.lines().enumerate() {
        parsed.lines = index + 1;
        if let Some(entry) = parse_line(line, index + 1) {
            parsed.entries.push(entry);
        }
    }
    parsed
}

fn parse_line(line: &str, line_number: usize) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        other if other.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let hosts = parse_hosts(first)?;
    let algorithm = fields.next()?;
    let blob = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {blob}")).ok()?;
    Some(Entry {
        line: line_number,
        marker,
        hosts,
        key,
    })
}

fn parse_hosts(field: &str) -> Option<HostMatcher> {
    if let Some(rest) = field.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        return Some(HostMatcher::Hashed {
            salt: BASE64.decode(salt.as_bytes()).ok()?,
            hash: BASE64.decode(hash.as_bytes()).ok()?,
        });
    }
    let patterns = field
        .split(',')
        .filter(|pattern| !pattern.is_empty())
        .map(|pattern| match pattern.strip_prefix('!') {
            Some(negated) => (true, negated.to_string()),
            None => (false, pattern.to_string()),
        })
        .collect::<Vec<_>>();
    (!patterns.is_empty()).then_some(HostMatcher::Patterns(patterns))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICIok5UfXpUYu/PgeQXCawwkoeB3FBYjYzsJxGdthY1r";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILF5TBVz4A0ximJbrG+XPRpuxUoT+PBUyEWJ1wmOmFFw";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    fn store_with(text: &str) -> (tempfile::TempDir, PathBuf, KnownHosts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, text).unwrap();
        (dir, path, KnownHosts::new())
    }

    #[test]
    fn plain_bracketed_and_comma_entries_match() {
        let text = format!("# comment\nweb1,web2 {KEY_A}\n[db1]:2222 {KEY_A}\n");
        let (_dir, path, hosts) = store_with(&text);
        let files = [path.clone()];
        let a = key(KEY_A);
        assert_eq!(
            hosts.check(&files, "WEB2", 22, &a),
            HostKeyCheck::Trusted {
                file: path.clone(),
                line: 2
            }
        );
        assert_eq!(
            hosts.check(&files, "db1", 2222, &a),
            HostKeyCheck::Trusted {
                file: path.clone(),
                line: 3
            }
        );
        // Port 22 entries do not vouch for other ports.
        assert_eq!(hosts.check(&files, "web1", 2222, &a), HostKeyCheck::Unknown);
        assert_eq!(hosts.check(&files, "db1", 22, &a), HostKeyCheck::Unknown);
    }

    #[test]
    fn changed_key_names_file_and_line() {
        let text = format!("other {KEY_B}\nweb1 {KEY_A}\n");
        let (_dir, path, hosts) = store_with(&text);
        assert_eq!(
            hosts.check(std::slice::from_ref(&path), "web1", 22, &key(KEY_B)),
            HostKeyCheck::Changed {
                file: path,
                line: 2,
                known_algorithm: "ssh-ed25519".into()
            }
        );
    }

    #[test]
    fn wildcards_and_negation() {
        let text = format!("*.prod,!bad.prod,db?? {KEY_A}\n");
        let (_dir, path, hosts) = store_with(&text);
        let files = [path];
        let a = key(KEY_A);
        assert!(matches!(
            hosts.check(&files, "x.prod", 22, &a),
            HostKeyCheck::Trusted { .. }
        ));
        assert_eq!(
            hosts.check(&files, "bad.prod", 22, &a),
            HostKeyCheck::Unknown
        );
        assert!(matches!(
            hosts.check(&files, "db01", 22, &a),
            HostKeyCheck::Trusted { .. }
        ));
        assert_eq!(hosts.check(&files, "db1", 22, &a), HostKeyCheck::Unknown);
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn hashed_entry_matches_like_ssh_keygen() {
        let salt = b"0123456789abcdefghij";
        let hash = hmac_sha1(salt, b"[127.0.0.1]:2222");
        let text = format!(
            "|1|{}|{} {KEY_A}\n",
            BASE64.encode(salt),
            BASE64.encode(&hash)
        );
        let (_dir, path, hosts) = store_with(&text);
        let files = [path];
        assert!(matches!(
            hosts.check(&files, "127.0.0.1", 2222, &key(KEY_A)),
            HostKeyCheck::Trusted { .. }
        ));
        assert_eq!(
            hosts.check(&files, "127.0.0.1", 22, &key(KEY_A)),
            HostKeyCheck::Unknown
        );
    }

    #[test]
    fn revoked_key_is_refused_even_when_listed() {
        let text = format!("web1 {KEY_A}\n@revoked * {KEY_A}\n@cert-authority *.prod {KEY_B}\n");
        let (_dir, path, hosts) = store_with(&text);
        let files = [path.clone()];
        assert_eq!(
            hosts.check(&files, "web1", 22, &key(KEY_A)),
            HostKeyCheck::Revoked {
                file: path,
                line: 2
            }
        );
        // A CA line is not a host key for the hosts it names.
        assert_eq!(
            hosts.check(&files, "x.prod", 22, &key(KEY_B)),
            HostKeyCheck::Unknown
        );
    }

    #[test]
    fn appended_key_is_hashed_and_seen_by_later_checks_and_new_readers() {
        let (_dir, path, hosts) = store_with("garbage line without key\nno-newline-at-end");
        let files = [path.clone()];
        let a = key(KEY_A);
        assert_eq!(
            hosts.check(&files, "127.0.0.1", 2200, &a),
            HostKeyCheck::Unknown
        );
        hosts.append(&path, "127.0.0.1", 2200, &a).unwrap();
        hosts.append(&path, "127.0.0.1", 2200, &a).unwrap(); // no duplicate
        assert_eq!(
            hosts.check(&files, "127.0.0.1", 2200, &a),
            HostKeyCheck::Trusted {
                file: path.clone(),
                line: 3
            }
        );
        let written = fs::read_to_string(&path).unwrap();
        assert_eq!(written.lines().count(), 3);
        assert!(written.lines().nth(2).unwrap().starts_with("|1|"));
        let fresh = KnownHosts::new();
        assert!(matches!(
            fresh.check(&files, "127.0.0.1", 2200, &a),
            HostKeyCheck::Trusted { line: 3, .. }
        ));
    }

    #[test]
    fn malformed_lines_never_panic() {
        for text in [
            "@revoked",
            "|1|x",
            "|1|!!|!! ssh-ed25519 AAAA",
            "h ssh-ed25519 ***",
            ",,, a b",
        ] {
            assert!(parse_text(text).entries.is_empty(), "{text:?}");
        }
    }
}
