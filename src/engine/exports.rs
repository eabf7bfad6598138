//! Values a step hands to later steps on the same host: a line of stdout
//! of the form `::set name=value`. The line stays in the output as printed.

/// Collects complete stdout lines across chunks and picks out `::set` lines.
#[derive(Debug, Default)]
pub struct ExportScanner {
    partial: Vec<u8>,
}

/// The longest line kept while looking for `::set`; longer lines are not exports.
const MAX_LINE: usize = 64 * 1024;

impl ExportScanner {
    /// Feeds stdout bytes; returns the exports completed by them.
    pub fn push(&mut self, data: &[u8]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for &b in data {
            if b == b'\n' {
                if let Some(export) = parse_line(&self.partial) {
                    found.push(export);
                }
                self.partial.clear();
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(b);
            }
        }
        found
    }

    /// The last line, if the output did not end with a newline.
    pub fn finish(&mut self) -> Option<(String, String)> {
        let line = std::mem::take(&mut self.partial);
        parse_line(&line)
    }
}

fn parse_line(line: &[u8]) -> Option<(String, String)> {
    let line = std::str::from_utf8(line).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = line.strip_prefix("::set ")?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_set_lines_across_chunks() {
        let mut s = ExportScanner::default();
        assert!(s.push(b"hello\n::set VER").is_empty());
        assert_eq!(
            s.push(b"SION=1.2.3\r\nnoise ::set x=1\n"),
            vec![("VERSION".into(), "1.2.3".into())]
        );
        assert!(s.push(b"::set 9bad=1\n::set also bad\n").is_empty());
        assert!(s.push(b"::set LAST=a=b").is_empty());
        assert_eq!(s.finish(), Some(("LAST".into(), "a=b".into())));
    }
}
