//! Atoms: script files whose metadata sits in a comment header.
//!
//! ```sh
//! #!/bin/sh
//! # ---
//! # name: stop-service
//! # description: Stop the app's service and wait until it is down.
//! # timeout: 60s
//! # run_as: root
//! # params:
//! #   service: {type: string, required: true}
//! #   grace: {type: int, default: 30}
//! # ---
//! systemctl stop "$service"
//! ```
//!
//! The header is YAML with each line's leading `#` (and one space)
//! removed. An atom without a header is named after its file and takes no
//! params.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::load::{Reader, read_params};
use super::{FlowErrors, ParamSpec};

#[derive(Debug, Clone)]
pub struct Atom {
    pub name: String,
    pub path: PathBuf,
    pub description: Option<String>,
    pub params: Vec<ParamSpec>,
    pub timeout: Option<Duration>,
    /// Run through `sudo -n -u USER` on the host.
    pub run_as: Option<String>,
    /// The whole file, header included: this is what runs.
    pub body: String,
    /// sha256 of `body`, recorded with every run.
    pub sha256: String,
}

impl Atom {
    pub fn load(path: &Path) -> Result<Atom, FlowErrors> {
        let body =
            crate::input_file::read_text(path, "atom").map_err(|e| FlowErrors(vec![e.into()]))?;
        Atom::parse(path, body)
    }

    pub fn parse(path: &Path, body: String) -> Result<Atom, FlowErrors> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut atom = Atom {
            name: stem,
            path: path.to_path_buf(),
            description: None,
            params: Vec::new(),
            timeout: None,
            run_as: None,
            sha256: sha256_hex(body.as_bytes()),
            body: String::new(),
        };
        let mut r = Reader::new(path, 0);
        if let Some((first_line, yaml)) = header(&body, &mut r) {
            r.line_offset = first_line - 1;
            if let Some(root) = r.document(&yaml, "an atom header") {
                let map = root.as_map().expect("document() returns mappings");
                r.only_keys(
                    map,
                    &["name", "description", "timeout", "run_as", "params"],
                    "an atom header",
                );
                if let Some(e) = map.get("name")
                    && let Some(name) = r.text(&e.value, "name")
                {
                    atom.name = name;
                }
                atom.description = map
                    .get("description")
                    .and_then(|e| r.text(&e.value, "description"));
                atom.timeout = map
                    .get("timeout")
                    .and_then(|e| r.timeout(&e.value, "timeout"));
                atom.run_as = map.get("run_as").and_then(|e| r.text(&e.value, "run_as"));
                if let Some(e) = map.get("params") {
                    atom.params = read_params(&mut r, &e.value, "params");
                }
            }
        }
        atom.body = body;
        if r.errors.is_empty() {
            Ok(atom)
        } else {
            Err(FlowErrors(r.errors))
        }
    }
}

/// The header's YAML and the file line it starts on, if the script has one:
/// after the shebang (and blank lines), a `# ---` line, comment lines, and a
/// closing `# ---`.
fn header(body: &str, r: &mut Reader) -> Option<(usize, String)> {
    let mut lines = body.lines().enumerate().peekable();
    if lines.peek().is_some_and(|(_, l)| l.starts_with("#!")) {
        lines.next();
    }
    let (open_index, _) = lines
        .find(|(_, l)| !l.trim().is_empty())
        .filter(|(_, l)| l.trim() == "# ---")?;
    let mut yaml = String::new();
    for (index, line) in lines {
        if line.trim() == "# ---" {
            return Some((open_index + 2, yaml));
        }
        let Some(text) = line.trim_start().strip_prefix('#') else {
            r.error(
                index + 1,
                "atom header: every line up to the closing '# ---' must start with '#'",
            );
            return None;
        };
        yaml.push_str(text.strip_prefix(' ').unwrap_or(text));
        yaml.push('\n');
    }
    r.error(
        open_index + 1,
        "atom header: '# ---' is never closed by a second '# ---' line",
    );
    None
}

pub fn sha256_hex(data: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::ParamKind;

    #[test]
    fn reads_the_header() {
        let body = "#!/bin/sh\n# ---\n# name: stop-service\n# timeout: 60s\n# run_as: root\n# params:\n#   service: {type: string, required: true}\n#   grace: {type: int, default: 30}\n# ---\nsystemctl stop \"$service\"\n";
        let atom = Atom::parse(Path::new("atoms/stop.sh"), body.into()).unwrap();
        assert_eq!(atom.name, "stop-service");
        assert_eq!(atom.timeout, Some(Duration::from_secs(60)));
        assert_eq!(atom.run_as.as_deref(), Some("root"));
        assert_eq!(atom.params.len(), 2);
        assert_eq!(atom.params[1].kind, ParamKind::Int);
        assert_eq!(atom.params[1].default.as_deref(), Some("30"));
        assert_eq!(atom.body, body);
        assert_eq!(atom.sha256.len(), 64);
    }

    #[test]
    fn no_header_means_the_file_name() {
        let atom = Atom::parse(
            Path::new("atoms/health-check.py"),
            "#!/usr/bin/env python3\nprint(1)\n".into(),
        )
        .unwrap();
        assert_eq!(atom.name, "health-check");
        assert!(atom.params.is_empty());
    }

    #[test]
    fn header_errors_point_at_file_lines() {
        let body = "#!/bin/sh\n# ---\n# name: x\n# timeout: soon\n# params:\n#   grace: {type: number}\n# ---\n";
        let errors = Atom::parse(Path::new("a.sh"), body.into()).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("a.sh:4: timeout"), "{text}");
        assert!(
            text.contains("a.sh:6: param 'grace': unknown type 'number'"),
            "{text}"
        );
        let unclosed =
            Atom::parse(Path::new("b.sh"), "#!/bin/sh\n# ---\n# name: x\n".into()).unwrap_err();
        assert!(
            unclosed.to_string().contains("b.sh:2: atom header"),
            "{unclosed}"
        );
    }
}
