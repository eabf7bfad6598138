//! Reading the files jobdeck is given: inventories, group_vars/host_vars,
//! flows, atoms, `@file` pattern lists, ssh_config, and the console's
//! theme, keymap and config files. Every such read goes through here, so
//! the same limits hold everywhere:
//!
//! - only a regular file is read: a directory, a FIFO, a socket or a device
//!   (`-i /dev/zero`) is refused at once, naming the path, without reading
//!   (a FIFO is opened non-blocking, so opening it cannot hang either);
//! - a file larger than [`MAX_INPUT_BYTES`] is refused (checked on the size
//!   the file reports, and again while reading, for files that grow);
//! - text must be UTF-8; a file that is not names the file, the line and
//!   the byte. Where a format tolerates stray bytes (INI inventories, as
//!   Ansible does), [`decode_lossy`] keeps the text and names each such line
//!   in a warning instead.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest input file jobdeck reads: 64 MiB. Real inventories of tens
/// of thousands of hosts are a few MiB; anything larger is a mistake (a log
/// or an image given as an inventory) that would only cost memory.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// How many lines with invalid UTF-8 a lossy read names before it only
/// counts the rest.
const MAX_LINE_WARNINGS: usize = 5;

/// An input file that could not be read, or a line of it that is not
/// UTF-8. Shown as `PATH: PROBLEM` or `PATH:LINE: PROBLEM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub path: PathBuf,
    /// The 1-based line, for text problems.
    pub line: Option<usize>,
    /// What went wrong, without the path (callers with located error types
    /// of their own take this and the line).
    pub problem: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.problem),
            None => write!(f, "{}: {}", self.path.display(), self.problem),
        }
    }
}

impl InputError {
    fn file(path: &Path, problem: String) -> Self {
        InputError {
            path: path.to_path_buf(),
            line: None,
            problem,
        }
    }
}

/// Reads a whole input file as bytes, refusing anything but a regular file
/// of at most [`MAX_INPUT_BYTES`]. `what` names the file's role for the
/// message ("inventory file", "flow file").
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, InputError> {
    let refuse = |problem: String| InputError::file(path, format!("cannot read {what}: {problem}"));
    // Refused on the path's own type first, so a device is never opened.
    let meta = std::fs::metadata(path).map_err(|e| refuse(e.to_string()))?;
    check_kind(&meta).map_err(&refuse)?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| refuse(e.to_string()))?;
    // Again on what was opened: the path may have changed in between.
    let meta = file.metadata().map_err(|e| refuse(e.to_string()))?;
    check_kind(&meta).map_err(&refuse)?;
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_INPUT_BYTES) as usize);
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(e.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(refuse(too_large()));
    }
    Ok(bytes)
}

/// Reads an input file that must be UTF-8 text (see [`read_bytes`]).
pub fn read_text(path: &Path, what: &str) -> Result<String, InputError> {
    decode(path, what, read_bytes(path, what)?)
}

/// The bytes as UTF-8 text; the first invalid byte is an error at its line.
pub fn decode(path: &Path, what: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let (line, column) = position(bytes, at);
        InputError {
            path: path.to_path_buf(),
            line: Some(line),
            problem: format!(
                "not UTF-8 text: byte 0x{:02X} at column {column} (save the {what} as UTF-8)",
                bytes[at]
            ),
        }
    })
}

/// The bytes as text with every invalid UTF-8 sequence replaced by U+FFFD
/// (`�`), and a warning for each line that had one (the first few, then a
/// count).
pub fn decode_lossy<'a>(path: &Path, bytes: &'a [u8]) -> (Cow<'a, str>, Vec<InputError>) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), Vec::new());
    }
    let mut warnings = Vec::new();
    let mut more = 0usize;
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let Err(e) = std::str::from_utf8(line) else {
            continue;
        };
        if warnings.len() == MAX_LINE_WARNINGS {
            more += 1;
            continue;
        }
        let at = e.valid_up_to();
        warnings.push(InputError {
            path: path.to_path_buf(),
            line: Some(index + 1),
            problem: format!(
                "not UTF-8: byte 0x{:02X} at column {} is read as U+FFFD (save the file as UTF-8)",
                line[at],
                column_of(&line[..at]),
            ),
        });
    }
    if more > 0 {
        warnings.push(InputError::file(
            path,
            format!("{more} more line(s) are not UTF-8 and were read with U+FFFD"),
        ));
    }
    (String::from_utf8_lossy(bytes), warnings)
}

fn check_kind(meta: &std::fs::Metadata) -> Result<(), String> {
    let kind = meta.file_type();
    let what = if kind.is_file() {
        if meta.len() > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(format!("it is {what}, not a regular file"))
}

fn too_large() -> String {
    format!(
        "it is larger than {} MiB, the limit for input files",
        MAX_INPUT_BYTES / (1024 * 1024)
    )
}

/// 1-based line and character column of a byte offset.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    (line, column_of(&before[line_start..]))
}

/// The 1-based column after `prefix`, a valid UTF-8 start of a line.
fn column_of(prefix: &[u8]) -> usize {
    std::str::from_utf8(prefix).map_or(prefix.len(), |s| s.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_fifos_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (Path::new("/dev/zero"), "a character device"),
            (dir.path(), "a directory"),
            (fifo.as_path(), "a FIFO"),
        ] {
            let e = read_text(path, "theme").unwrap_err();
            assert_eq!(e.path, path);
            assert!(e.problem.starts_with("cannot read theme: "), "{e}");
            assert!(e.problem.contains(kind), "{e}");
            assert!(e.to_string().starts_with(&path.display().to_string()));
        }
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ini");
        let file = File::create(&path).unwrap();
        // Sparse: no disk is used.
        file.set_len(MAX_INPUT_BYTES + 1).unwrap();
        let e = read_bytes(&path, "inventory file").unwrap_err();
        assert!(e.problem.contains("larger than 64 MiB"), "{e}");
        file.set_len(MAX_INPUT_BYTES).unwrap();
        assert_eq!(
            read_bytes(&path, "inventory file").unwrap().len() as u64,
            MAX_INPUT_BYTES
        );
    }

    #[test]
    fn invalid_utf8_names_line_column_and_byte() {
        let e = decode(
            Path::new("f.yml"),
            "flow file",
            b"name: x\n# caf\xe9\n".to_vec(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.yml:2: not UTF-8 text: byte 0xE9 at column 6 (save the flow file as UTF-8)"
        );
    }

    #[test]
    fn lossy_reading_keeps_the_text_and_warns_per_line() {
        let (text, warnings) = decode_lossy(Path::new("h.ini"), b"[web]\n\xc3\xa9 caf\xe9\nok\n");
        assert_eq!(text, "[web]\né caf\u{FFFD}\nok\n");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(2));
        assert!(
            warnings[0].problem.contains("byte 0xE9 at column 6"),
            "{}",
            warnings[0]
        );
        let many = b"\xff\n".repeat(20);
        let (_, warnings) = decode_lossy(Path::new("h.ini"), &many);
        assert_eq!(warnings.len(), MAX_LINE_WARNINGS + 1);
        assert!(
            warnings
                .last()
                .unwrap()
                .problem
                .starts_with("15 more line(s)")
        );
    }
}
