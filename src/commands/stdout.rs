//! What the commands print on stdout goes out here in one piece. A reader
//! that went away (`jobdeck inventory show web01 | head -3`) ends the
//! command quietly with success, as other Unix tools do, instead of an
//! error or a panic; any other write error is reported.

use std::io::{self, Write};

use anyhow::{Result, anyhow};

use crate::exit;

/// Writes `bytes` to stdout and flushes.
pub fn write(bytes: impl AsRef<[u8]>) -> Result<u8> {
    let mut out = io::stdout().lock();
    finish(out.write_all(bytes.as_ref()).and_then(|()| out.flush()))
}

/// The exit code of a command whose output ended with `result`.
pub fn finish(result: io::Result<()>) -> Result<u8> {
    match result {
        Ok(()) => Ok(exit::OK),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(err) => Err(anyhow!("cannot write to stdout: {err}")),
    }
}
