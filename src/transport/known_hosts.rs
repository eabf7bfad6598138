//! known_hosts files: parsed once per run, shared by every connection.
//!
//! Understood: plain names and `[host]:port`, comma lists, `*` / `?` wildcards, `!`
//! negation, hashed `|1|salt|hash` entries (HMAC-SHA1), `@revoked` lines (a revoked key
//! is refused for every host). `@cert-authority` lines are kept out of matching: host
//! certificates are not verified yet, so a host is checked by its plain key only.
//!
//! A file is read as bytes (bounded, as every input file: `input_file`), line by
//! line: one odd byte never costs the rest of the file. A line that cannot be parsed (binary
//! data, a truncated key, an unknown marker) is skipped with a warning naming
//! file:line; a comment in any encoding is fine. Failing closed where a skipped
//! line or file could have said no:
//! * a file that exists but cannot be read (not a regular file, unreadable, too
//!   large) makes every check against it fail: it may hold a revocation;
//! * a bad line whose host field names the host makes that host's check fail unless
//!   another line trusts the key (a bad `@revoked` line, even then).
//!
//! A missing file knows no hosts, as with OpenSSH.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use sha1::Sha1;

use crate::input_file;

/// Bad lines named one by one per file; the rest are counted.
const WARNED_LINES: usize = 10;

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
    /// A file could not be read, or a line that names this host could not be parsed:
    /// what it says about the host is unknown, so the key cannot be trusted.
    Unverifiable {
        file: PathBuf,
        /// `None` when the whole file is unreadable.
        line: Option<usize>,
        reason: String,
    },
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

/// A line whose hosts are known but whose key could not be read.
#[derive(Debug, Clone)]
struct BadEntry {
    line: usize,
    marker: Marker,
    hosts: HostMatcher,
    reason: String,
}

/// One parsed file, plus the lines this run appended to it.
#[derive(Debug, Default)]
struct ParsedFile {
    entries: Vec<Entry>,
    bad_entries: Vec<BadEntry>,
    /// Line count, so appended entries get true line numbers.
    lines: usize,
    /// Why the file could not be read at all; every check against it fails.
    unreadable: Option<String>,
    /// `file:line: ...` for the lines skipped, as the user should see them.
    warnings: Vec<String>,
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

    /// What the user should hear about `files`: skipped lines (file:line) and files
    /// that cannot be read. Reads each file once, like [`check`](Self::check).
    pub fn warnings(&self, files: &[PathBuf]) -> Vec<String> {
        let mut warnings = Vec::new();
        for path in files {
            let file = self.file(path);
            let file = file.read().unwrap_or_else(|e| e.into_inner());
            if let Some(reason) = &file.unreadable {
                warnings.push(format!(
                    "{}: {reason}; hosts checked against it are refused",
                    path.display()
                ));
            }
            warnings.extend(file.warnings.iter().cloned());
        }
        warnings
    }

    /// Checks `key` for `host`:`port` against `files`, in order.
    pub fn check(&self, files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> HostKeyCheck {
        let name = lookup_name(host, port);
        let mut trusted = None;
        let mut changed = None;
        let mut unverifiable = None;
        for path in files {
            let file = self.file(path);
            let file = file.read().unwrap_or_else(|e| e.into_inner());
            if let Some(reason) = &file.unreadable {
                return HostKeyCheck::Unverifiable {
                    file: path.clone(),
                    line: None,
                    reason: reason.clone(),
                };
            }
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
            for bad in &file.bad_entries {
                if bad.marker == Marker::CertAuthority || !bad.hosts.matches(&name) {
                    continue;
                }
                let unreadable = HostKeyCheck::Unverifiable {
                    file: path.clone(),
                    line: Some(bad.line),
                    reason: bad.reason.clone(),
                };
                // A revocation that cannot be read might be of this very key.
                if bad.marker == Marker::Revoked {
                    return unreadable;
                }
                unverifiable.get_or_insert(unreadable);
            }
        }
        if let Some((file, line)) = trusted {
            return HostKeyCheck::Trusted { file, line };
        }
        if let Some((file, line, known_algorithm, _)) = changed {
            return HostKeyCheck::Changed {
                file,
                line,
                known_algorithm,
            };
        }
        unverifiable.unwrap_or(HostKeyCheck::Unknown)
    }

    /// Records a new key: appends a hashed line to `file` (created with mode 0600, its
    /// missing directories with 0700, as OpenSSH keeps `~/.ssh`) and makes it visible
    /// to later checks in this run.
    pub fn append(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let parsed = self.file(file);
        let name = lookup_name(host, port);
        {
            let parsed = parsed.read().unwrap_or_else(|e| e.into_inner());
            if let Some(reason) = &parsed.unreadable {
                return Err(io::Error::other(reason.clone()));
            }
            // Another connection to the same host may have recorded it meanwhile.
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
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let mut handle = fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(file)?;
        // A file that does not end in a newline would glue our line onto its last one.
        let length = handle.metadata()?.len();
        let mut last = [0u8; 1];
        if length > 0 && handle.read_at(&mut last, length - 1)? == 1 && last[0] != b'\n' {
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

/// Every known_hosts file the targets (and their jump hosts) are checked against, in
/// order, each once.
pub fn files_of<'a>(targets: impl IntoIterator<Item = &'a super::Target>) -> Vec<PathBuf> {
    fn add(target: &super::Target, files: &mut Vec<PathBuf>) {
        for file in target
            .user_known_hosts
            .iter()
            .chain(&target.global_known_hosts)
        {
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
        if let super::Proxy::Jump(hops) = &target.proxy {
            for hop in hops {
                add(hop, files);
            }
        }
    }
    let mut files = Vec::new();
    for target in targets {
        add(target, &mut files);
    }
    files
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
    match read_bounded(path) {
        Ok(None) => ParsedFile::default(),
        Ok(Some(bytes)) => parse_bytes(&bytes, &path.display().to_string()),
        Err(reason) => ParsedFile {
            unreadable: Some(reason),
            ..ParsedFile::default()
        },
    }
}

/// The file's bytes, read as every input file is (a regular file of at most
/// [`MAX_INPUT_BYTES`](crate::input_file::MAX_INPUT_BYTES)); `None` when it does
/// not exist.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match fs::metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        // `ln -s /dev/null ~/.ssh/known_hosts` is how some keep no record.
        Ok(meta)
            if !meta.is_file()
                && fs::canonicalize(path).is_ok_and(|p| p == Path::new("/dev/null")) =>
        {
            return Ok(Some(Vec::new()));
        }
        _ => {}
    }
    input_file::read_bytes(path, "known_hosts file")
        .map(Some)
        .map_err(|err| err.problem)
}

/// Parses a whole file; `origin` names it in warnings.
fn parse_bytes(bytes: &[u8], origin: &str) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let mut skipped = 0;
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut number = 0;
    while let Some(line) = lines.next() {
        // The empty piece after a final newline is no line.
        if line.is_empty() && lines.peek().is_none() {
            break;
        }
        number += 1;
        let problem = match parse_line(line, number) {
            Parsed::Nothing => continue,
            Parsed::Entry(entry) => {
                parsed.entries.push(entry);
                continue;
            }
            Parsed::Bad(reason) => reason,
            Parsed::BadKey(bad) => {
                let reason = bad.reason.clone();
                parsed.bad_entries.push(bad);
                reason
            }
        };
        skipped += 1;
        if skipped <= WARNED_LINES {
            parsed
                .warnings
                .push(format!("{origin}:{number}: line skipped: {problem}"));
        }
    }
    parsed.lines = number;
    if skipped > WARNED_LINES {
        parsed.warnings.push(format!(
            "{origin}: {} more bad lines skipped",
            skipped - WARNED_LINES
        ));
    }
    parsed
}

enum Parsed {
    /// Blank or a comment.
    Nothing,
    Entry(Entry),
    /// A line that names no host jobdeck can tell.
    Bad(String),
    /// A line that names hosts but whose key cannot be read.
    BadKey(BadEntry),
}

/// One line: `[@marker] HOSTS KEYTYPE BASE64 [COMMENT]`. The comment may hold any
/// bytes; the other fields must be text.
fn parse_line(line: &[u8], number: usize) -> Parsed {
    let line = line.trim_ascii();
    if line.is_empty() || line.starts_with(b"#") {
        return Parsed::Nothing;
    }
    let mut fields = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|field| !field.is_empty());
    let Some(mut first) = fields.next() else {
        return Parsed::Nothing;
    };
    let marker = match first {
        b"@revoked" => Marker::Revoked,
        b"@cert-authority" => Marker::CertAuthority,
        other if other.starts_with(b"@") => {
            return Parsed::Bad(format!(
                "unknown marker {:?}: expected @revoked or @cert-authority",
                String::from_utf8_lossy(other)
            ));
        }
        _ => Marker::None,
    };
    if marker != Marker::None {
        match fields.next() {
            Some(hosts) => first = hosts,
            None => return Parsed::Bad("a marker with no hosts and no key".into()),
        }
    }
    let Some(hosts) = parse_hosts(first) else {
        return Parsed::Bad(
            "the host field is not a list of host names or a |1| hash (binary data?)".into(),
        );
    };
    let bad_key = |reason: String| {
        Parsed::BadKey(BadEntry {
            line: number,
            marker,
            hosts: hosts.clone(),
            reason,
        })
    };
    let (Some(algorithm), Some(blob)) = (fields.next(), fields.next()) else {
        return bad_key("expected a key type and a key after the host names".into());
    };
    let (Ok(algorithm), Ok(blob)) = (std::str::from_utf8(algorithm), std::str::from_utf8(blob))
    else {
        return bad_key("the key type or key is not text".into());
    };
    match PublicKey::from_openssh(&format!("{algorithm} {blob}")) {
        Ok(key) => Parsed::Entry(Entry {
            line: number,
            marker,
            hosts,
            key,
        }),
        Err(err) => bad_key(format!("the {algorithm} key cannot be read ({err})")),
    }
}

/// The host field: printable ASCII only (names are written in punycode there).
fn parse_hosts(field: &[u8]) -> Option<HostMatcher> {
    if !field.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let field = std::str::from_utf8(field).ok()?;
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
            assert!(
                parse_bytes(text.as_bytes(), "f").entries.is_empty(),
                "{text:?}"
            );
        }
    }

    fn store_with_bytes(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, KnownHosts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, bytes).unwrap();
        (dir, path, KnownHosts::new())
    }

    #[test]
    fn a_latin1_comment_is_no_problem() {
        let mut text = b"# h\xf4tes du caf\xe9\n".to_vec();
        text.extend_from_slice(format!("web1 {KEY_A} root@caf").as_bytes());
        text.extend_from_slice(b"\xe9\n");
        let (_dir, path, hosts) = store_with_bytes(&text);
        let files = [path.clone()];
        assert_eq!(
            hosts.check(&files, "web1", 22, &key(KEY_A)),
            HostKeyCheck::Trusted {
                file: path,
                line: 2
            }
        );
        assert!(hosts.warnings(&files).is_empty());
    }

    #[test]
    fn a_binary_line_is_skipped_with_a_warning_and_the_rest_still_counts() {
        let mut text = format!("web1 {KEY_A}\n").into_bytes();
        text.extend_from_slice(b"\x00\xff\xfe\x01 \x9c\x80 binary\n");
        text.extend_from_slice(format!("web2 {KEY_B}\n@revoked * {KEY_B}\n").as_bytes());
        let (_dir, path, hosts) = store_with_bytes(&text);
        let files = [path.clone()];
        // The lines after the binary one are still read: a changed key...
        assert!(matches!(
            hosts.check(&files, "web1", 22, &key(KEY_B)),
            HostKeyCheck::Revoked { line: 4, .. }
        ));
        assert!(matches!(
            hosts.check(&files, "web2", 22, &key(KEY_A)),
            HostKeyCheck::Changed { line: 3, .. }
        ));
        let warnings = hosts.warnings(&files);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!("{}:2: line skipped", path.display())),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_truncated_key_refuses_the_hosts_it_names_only() {
        let text = "web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICIok5Uf\n";
        let (_dir, path, hosts) = store_with(text);
        let files = [path.clone()];
        let HostKeyCheck::Unverifiable { file, line, reason } =
            hosts.check(&files, "web1", 22, &key(KEY_A))
        else {
            panic!("a host named by an unreadable line must not pass as unknown");
        };
        assert_eq!((file, line), (path.clone(), Some(1)));
        assert!(
            reason.contains("ssh-ed25519 key cannot be read"),
            "{reason}"
        );
        assert_eq!(
            hosts.check(&files, "web3", 22, &key(KEY_A)),
            HostKeyCheck::Unknown
        );
        // Another line that trusts the key wins over the unreadable one.
        let text = format!("web1 ssh-ed25519 AAAAC3Nza\nweb1 {KEY_A}\n");
        let (_dir, path, hosts) = store_with(&text);
        assert!(matches!(
            hosts.check(&[path], "web1", 22, &key(KEY_A)),
            HostKeyCheck::Trusted { line: 2, .. }
        ));
    }

    #[test]
    fn an_unreadable_revocation_refuses_even_a_trusted_key() {
        let text = format!("web1 {KEY_A}\n@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1\n");
        let (_dir, path, hosts) = store_with(&text);
        assert!(matches!(
            hosts.check(&[path], "web1", 22, &key(KEY_A)),
            HostKeyCheck::Unverifiable { line: Some(2), .. }
        ));
    }

    #[test]
    fn crlf_line_ends_are_read_like_lf() {
        let text = format!("web1 {KEY_A}\r\n@revoked * {KEY_B}\r\n# done\r\n");
        let (_dir, path, hosts) = store_with(&text);
        let files = [path.clone()];
        assert_eq!(
            hosts.check(&files, "web1", 22, &key(KEY_A)),
            HostKeyCheck::Trusted {
                file: path.clone(),
                line: 1
            }
        );
        assert_eq!(
            hosts.check(&files, "web2", 22, &key(KEY_B)),
            HostKeyCheck::Revoked {
                file: path,
                line: 2
            }
        );
        assert!(hosts.warnings(&files).is_empty());
    }

    #[test]
    fn a_file_that_cannot_be_read_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_file = dir.path().join("known_hosts");
        fs::create_dir(&not_a_file).unwrap();
        let huge = dir.path().join("huge");
        fs::File::create(&huge)
            .unwrap()
            .set_len(input_file::MAX_INPUT_BYTES + 1)
            .unwrap();
        let missing = dir.path().join("missing");
        let hosts = KnownHosts::new();
        for file in [&not_a_file, &huge] {
            let files = [missing.clone(), file.clone()];
            assert!(
                matches!(
                    hosts.check(&files, "web1", 22, &key(KEY_A)),
                    HostKeyCheck::Unverifiable { line: None, .. }
                ),
                "{}",
                file.display()
            );
            assert!(hosts.append(file, "web1", 22, &key(KEY_A)).is_err());
            let warnings = hosts.warnings(&files);
            assert!(warnings[0].contains("refused"), "{warnings:?}");
        }
        // A missing file knows no hosts, as with OpenSSH; nor does /dev/null.
        assert_eq!(
            hosts.check(&[missing], "web1", 22, &key(KEY_A)),
            HostKeyCheck::Unknown
        );
        let null = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        assert_eq!(
            hosts.check(&[null], "web1", 22, &key(KEY_A)),
            HostKeyCheck::Unknown
        );
    }

    #[test]
    fn many_bad_lines_are_counted_not_listed() {
        let text = "junk\n".repeat(WARNED_LINES + 5);
        let warnings = parse_bytes(text.as_bytes(), "kh").warnings;
        assert_eq!(warnings.len(), WARNED_LINES + 1);
        assert_eq!(warnings.last().unwrap(), "kh: 5 more bad lines skipped");
    }

    #[test]
    fn new_directories_and_files_get_openssh_modes() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join(".ssh/known_hosts");
        KnownHosts::new()
            .append(&file, "127.0.0.1", 2200, &key(KEY_A))
            .unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        assert_eq!(mode(&file), 0o600);
    }
}
