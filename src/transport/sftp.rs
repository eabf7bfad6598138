//! File transfer: upload a file or a directory tree to a host.
//!
//! Over SSH this speaks SFTP (the `sftp` subsystem, which every OpenSSH sshd has) through
//! `russh-sftp`'s raw session: the raw layer gives the `posix-rename@openssh.com` and
//! `fsync@openssh.com` extensions that atomic replacement needs, and pipelined writes.
//! For `ansible_connection=local` the same steps run on the local filesystem.
//!
//! Semantics, for a file and for every file of a tree:
//! * The data goes to a temporary name in the destination's directory
//!   (`.NAME.jobdeck-RANDOM.tmp`), created exclusively; its mode is set exactly
//!   (not through the umask); it is fsynced when the server supports it; then it is
//!   renamed over the destination. Readers see the old file or the new one, never a
//!   partial one. On failure the temporary file is removed.
//! * `remote` is the destination path itself: for a file, the file's new path; for a
//!   directory, the directory that receives the tree (created if missing, like
//!   `cp -r SRC/. DEST`). Existing files are replaced, other existing files are kept.
//! * `mode` applies to every file; `None` keeps each local file's permission bits.
//!   Directories get their local permission bits (always with owner rwx).
//! * The destination's parent directory must exist, as for `cp`, `scp` and
//!   Ansible's `copy` (a typo in a path fails instead of creating a stray tree),
//!   unless `parents` is set: then missing parents are created first, like
//!   `mkdir -p`, with the host's default permissions.
//! * Symlinks are followed; special files (fifos, sockets, devices) are refused.
//! * Without `posix-rename@openssh.com` (non-OpenSSH servers) the destination is removed
//!   before a plain rename: a short window without the file, never a partial file.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags, Packet, StatusCode};
use tokio::io::AsyncReadExt;

use super::ssh::{SshSession, random_nonce};

/// Size of one SFTP write; OpenSSH accepts up to 256 KiB, 32 KiB is the common choice.
const WRITE_CHUNK: usize = 32 * 1024;
/// Writes in flight per file: enough to fill the pipe on a high-latency link.
const WRITES_IN_FLIGHT: usize = 16;
/// Directory trees deeper than this are refused (a symlink loop, most likely).
const MAX_DEPTH: usize = 64;

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// File content bytes written.
    pub bytes: u64,
    pub files: usize,
    /// Directories created or found in place.
    pub directories: usize,
    pub elapsed: Duration,
}

/// How an upload writes: the files' mode, and whether missing parent
/// directories of the destination are created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// Applies to every file; `None` keeps each local file's permission bits.
    pub mode: Option<u32>,
    /// Create the destination's missing parent directories (`mkdir -p`).
    pub parents: bool,
}

impl From<Option<u32>> for UploadOptions {
    fn from(mode: Option<u32>) -> Self {
        UploadOptions {
            mode,
            parents: false,
        }
    }
}

/// What a missing parent directory is told, when `parents` is off.
const NO_PARENT: &str =
    "no such directory: create it first, or set `parents: true` on the copy step";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("cannot read {}: {detail}", path.display())]
    Local { path: PathBuf, detail: String },
    #[error("{path} on the host: {detail}")]
    Remote { path: String, detail: String },
    #[error("cannot start SFTP on the host: {0}")]
    NoSftp(String),
}

/// One step of an upload, planned before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A missing parent of the destination (`parents: true`), created with
    /// the host's default permissions.
    Parent {
        remote: String,
    },
    Dir {
        remote: String,
        mode: u32,
    },
    File {
        local: PathBuf,
        remote: String,
        mode: u32,
    },
}

fn local_error(path: &Path, err: impl std::fmt::Display) -> UploadError {
    UploadError::Local {
        path: path.to_path_buf(),
        detail: err.to_string(),
    }
}

fn remote_error(path: &str, err: impl std::fmt::Display) -> UploadError {
    UploadError::Remote {
        path: path.to_string(),
        detail: err.to_string(),
    }
}

/// Walks `local` and lists the directories and files to create, parents
/// first (the destination's own parents too, with `parents`).
fn plan(local: &Path, remote: &str, options: UploadOptions) -> Result<Vec<Item>, UploadError> {
    let mut items = Vec::new();
    if options.parents {
        items.extend(
            ancestors(remote)
                .into_iter()
                .map(|remote| Item::Parent { remote }),
        );
    }
    plan_into(local, remote.to_string(), options.mode, 0, &mut items)?;
    Ok(items)
}

/// The directories above `path`, outermost first: `/srv/app/conf/x` gives
/// `/srv`, `/srv/app`, `/srv/app/conf`. The root and `.` are left out.
fn ancestors(path: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut rest = path.trim_end_matches('/');
    while let Some((dir, _)) = rest.rsplit_once('/') {
        let dir = dir.trim_end_matches('/');
        if dir.is_empty() || dir == "." || dir == "~" {
            break;
        }
        dirs.push(dir.to_string());
        rest = dir;
    }
    dirs.reverse();
    dirs
}

/// The directory holding `path` (`.` for a bare name).
fn parent_of(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    }
}

fn plan_into(
    local: &Path,
    remote: String,
    mode: Option<u32>,
    depth: usize,
    items: &mut Vec<Item>,
) -> Result<(), UploadError> {
    if depth > MAX_DEPTH {
        return Err(local_error(
            local,
            format!("more than {MAX_DEPTH} directory levels (a symlink loop?)"),
        ));
    }
    let meta = std::fs::metadata(local).map_err(|err| local_error(local, err))?;
    let local_mode = meta.permissions().mode() & 0o7777;
    if meta.is_file() {
        items.push(Item::File {
            local: local.to_path_buf(),
            remote,
            mode: mode.unwrap_or(local_mode),
        });
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(local_error(
            local,
            "not a regular file or directory (fifo, socket or device)",
        ));
    }
    items.push(Item::Dir {
        remote: remote.clone(),
        mode: local_mode | 0o700,
    });
    let mut names = Vec::new();
    for entry in std::fs::read_dir(local).map_err(|err| local_error(local, err))? {
        let entry = entry.map_err(|err| local_error(local, err))?;
        names.push(entry.file_name());
    }
    names.sort();
    let base = remote.trim_end_matches('/');
    for name in names {
        let path = local.join(&name);
        let Some(name) = name.to_str() else {
            return Err(local_error(
                &path,
                "the name is not UTF-8, which SFTP paths must be",
            ));
        };
        plan_into(&path, format!("{base}/{name}"), mode, depth + 1, items)?;
    }
    Ok(())
}

/// `dir/.name.jobdeck-RANDOM.tmp` beside `path`.
fn temp_name(path: &str) -> String {
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), path),
    };
    format!("{dir}.{name}.jobdeck-{}.tmp", random_nonce())
}

async fn plan_async(
    local: &Path,
    remote: &str,
    options: UploadOptions,
) -> Result<Vec<Item>, UploadError> {
    let (local, remote) = (local.to_path_buf(), remote.to_string());
    tokio::task::spawn_blocking(move || plan(&local, &remote, options))
        .await
        .map_err(|err| UploadError::NoSftp(format!("planning task failed: {err}")))?
}

/// Uploads over the session's SFTP subsystem.
pub async fn upload_ssh(
    session: &SshSession,
    local: &Path,
    remote: &str,
    options: UploadOptions,
) -> Result<UploadReport, UploadError> {
    let started = Instant::now();
    let items = plan_async(local, remote, options).await?;
    let channel = session
        .handle()
        .channel_open_session()
        .await
        .map_err(|err| UploadError::NoSftp(err.to_string()))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|err| UploadError::NoSftp(err.to_string()))?;
    let sftp = Arc::new(RawSftpSession::new(channel.into_stream()));
    let version = sftp
        .init()
        .await
        .map_err(|err| UploadError::NoSftp(err.to_string()))?;
    let has = |name: &str| version.extensions.get(name).is_some_and(|v| v == "1");
    let remote_fs = RemoteFs {
        sftp: sftp.clone(),
        posix_rename: has("posix-rename@openssh.com"),
        fsync: has("fsync@openssh.com"),
    };
    let mut report = UploadReport {
        bytes: 0,
        files: 0,
        directories: 0,
        elapsed: Duration::ZERO,
    };
    let outcome = async {
        for item in &items {
            match item {
                Item::Parent { remote } => {
                    if remote_fs.ensure_dir(remote, None).await? {
                        report.directories += 1;
                    }
                }
                Item::Dir { remote, mode } => {
                    remote_fs.ensure_dir(remote, Some(*mode)).await?;
                    report.directories += 1;
                }
                Item::File {
                    local,
                    remote,
                    mode,
                } => {
                    report.bytes += remote_fs.put_file(local, remote, *mode).await?;
                    report.files += 1;
                }
            }
        }
        Ok(())
    }
    .await;
    let _ = sftp.close_session();
    outcome?;
    report.elapsed = started.elapsed();
    Ok(report)
}

struct RemoteFs {
    sftp: Arc<RawSftpSession>,
    posix_rename: bool,
    fsync: bool,
}

impl RemoteFs {
    /// Makes `path` a directory; true when it was created (false: it was there).
    async fn ensure_dir(&self, path: &str, mode: Option<u32>) -> Result<bool, UploadError> {
        let attrs = FileAttributes {
            permissions: mode,
            ..FileAttributes::empty()
        };
        match self.sftp.mkdir(path, attrs).await {
            Ok(_) => Ok(true),
            Err(mkdir_err) => match self.sftp.stat(path).await {
                Ok(existing) if existing.attrs.is_dir() => Ok(false),
                Ok(_) => Err(remote_error(path, "exists and is not a directory")),
                Err(_) => Err(self.missing_parent(path).await.unwrap_or_else(|| {
                    remote_error(path, format!("cannot create directory: {mkdir_err}"))
                })),
            },
        }
    }

    /// The error to give when `path` could not be created because its
    /// directory does not exist.
    async fn missing_parent(&self, path: &str) -> Option<UploadError> {
        let parent = parent_of(path);
        match self.sftp.stat(parent).await {
            Ok(_) => None,
            Err(_) => Some(remote_error(parent, NO_PARENT)),
        }
    }

    /// Writes `local` to a temporary name, then renames it over `remote`.
    async fn put_file(&self, local: &Path, remote: &str, mode: u32) -> Result<u64, UploadError> {
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|err| local_error(local, err))?;
        let temp = temp_name(remote);
        let attrs = FileAttributes {
            permissions: Some(mode),
            ..FileAttributes::empty()
        };
        let handle = self
            .sftp
            .open(
                &temp,
                OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE,
                attrs,
            )
            .await;
        let handle = match handle {
            Ok(opened) => opened.handle,
            Err(err) => {
                return Err(self
                    .missing_parent(remote)
                    .await
                    .unwrap_or_else(|| remote_error(&temp, format!("cannot create: {err}"))));
            }
        };
        let written = self.write_all(&mut file, local, &temp, &handle).await;
        let finished = match written {
            Ok(bytes) => self.finish(&temp, &handle, mode).await.map(|()| bytes),
            Err(err) => Err(err),
        };
        let closed = self.sftp.close(handle).await;
        let result = finished.and_then(|bytes| {
            closed
                .map(|_| bytes)
                .map_err(|err| remote_error(&temp, format!("close failed: {err}")))
        });
        let result = match result {
            Ok(bytes) => self.replace(&temp, remote).await.map(|()| bytes),
            Err(err) => Err(err),
        };
        if result.is_err() {
            let _ = self.sftp.remove(&temp).await;
        }
        result
    }

    async fn write_all(
        &self,
        file: &mut tokio::fs::File,
        local: &Path,
        temp: &str,
        handle: &str,
    ) -> Result<u64, UploadError> {
        let mut in_flight: tokio::task::JoinSet<
            Result<russh_sftp::protocol::Status, russh_sftp::client::error::Error>,
        > = tokio::task::JoinSet::new();
        let mut offset: u64 = 0;
        let write_failed = |err: russh_sftp::client::error::Error| {
            remote_error(temp, format!("write failed: {err}"))
        };
        loop {
            let mut buffer = vec![0u8; WRITE_CHUNK];
            let read = file
                .read(&mut buffer)
                .await
                .map_err(|err| local_error(local, err))?;
            if read == 0 {
                break;
            }
            buffer.truncate(read);
            if in_flight.len() >= WRITES_IN_FLIGHT
                && let Some(done) = in_flight.join_next().await
            {
                done.map_err(|err| remote_error(temp, err))?
                    .map_err(write_failed)?;
            }
            let sftp = self.sftp.clone();
            let handle = handle.to_string();
            let at = offset;
            in_flight.spawn(async move { sftp.write(handle, at, buffer).await });
            offset += read as u64;
        }
        while let Some(done) = in_flight.join_next().await {
            done.map_err(|err| remote_error(temp, err))?
                .map_err(write_failed)?;
        }
        Ok(offset)
    }

    /// Exact mode (open's mode went through the server's umask), then fsync.
    async fn finish(&self, temp: &str, handle: &str, mode: u32) -> Result<(), UploadError> {
        let attrs = FileAttributes {
            permissions: Some(mode),
            ..FileAttributes::empty()
        };
        self.sftp
            .fsetstat(handle, attrs)
            .await
            .map_err(|err| remote_error(temp, format!("cannot set mode {mode:o}: {err}")))?;
        if self.fsync {
            self.sftp
                .fsync(handle)
                .await
                .map_err(|err| remote_error(temp, format!("fsync failed: {err}")))?;
        }
        Ok(())
    }

    async fn replace(&self, temp: &str, remote: &str) -> Result<(), UploadError> {
        if self.posix_rename {
            let mut data = Vec::with_capacity(temp.len() + remote.len() + 8);
            for path in [temp, remote] {
                data.extend_from_slice(&(path.len() as u32).to_be_bytes());
                data.extend_from_slice(path.as_bytes());
            }
            return match self.sftp.extended("posix-rename@openssh.com", data).await {
                Ok(Packet::Status(status)) if status.status_code == StatusCode::Ok => Ok(()),
                Ok(Packet::Status(status)) => Err(remote_error(
                    remote,
                    format!(
                        "cannot rename the uploaded file into place: {}: {}",
                        status.status_code, status.error_message
                    ),
                )),
                Ok(_) => Err(remote_error(remote, "unexpected reply to rename")),
                Err(err) => Err(remote_error(
                    remote,
                    format!("cannot rename the uploaded file into place: {err}"),
                )),
            };
        }
        if self.sftp.rename(temp, remote).await.is_ok() {
            return Ok(());
        }
        // Plain SFTP rename refuses to replace: remove the old file first.
        let _ = self.sftp.remove(remote).await;
        self.sftp
            .rename(temp, remote)
            .await
            .map(|_| ())
            .map_err(|err| {
                remote_error(
                    remote,
                    format!("cannot rename the uploaded file into place: {err}"),
                )
            })
    }
}

/// The same upload on the local filesystem (`ansible_connection=local`).
pub async fn upload_local(
    local: &Path,
    remote: &str,
    options: UploadOptions,
) -> Result<UploadReport, UploadError> {
    let (local, remote) = (local.to_path_buf(), remote.to_string());
    tokio::task::spawn_blocking(move || upload_local_blocking(&local, &remote, options))
        .await
        .map_err(|err| UploadError::NoSftp(format!("copy task failed: {err}")))?
}

fn upload_local_blocking(
    local: &Path,
    remote: &str,
    options: UploadOptions,
) -> Result<UploadReport, UploadError> {
    let started = Instant::now();
    let mut report = UploadReport {
        bytes: 0,
        files: 0,
        directories: 0,
        elapsed: Duration::ZERO,
    };
    for item in plan(local, remote, options)? {
        match item {
            Item::Parent { remote } => {
                if create_local_dir(&remote)? {
                    report.directories += 1;
                }
            }
            Item::Dir { remote, mode } => {
                if create_local_dir(&remote)? {
                    std::fs::set_permissions(&remote, std::fs::Permissions::from_mode(mode))
                        .map_err(|err| remote_error(&remote, err))?;
                }
                report.directories += 1;
            }
            Item::File {
                local,
                remote,
                mode,
            } => {
                report.bytes += copy_file_atomically(&local, &remote, mode)?;
                report.files += 1;
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Makes `path` a directory; true when it was created (false: it was there).
fn create_local_dir(path: &str) -> Result<bool, UploadError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(_) if Path::new(path).is_dir() => Ok(false),
        Err(err) => Err(missing_local_parent(path)
            .unwrap_or_else(|| remote_error(path, format!("cannot create directory: {err}")))),
    }
}

fn missing_local_parent(path: &str) -> Option<UploadError> {
    let parent = parent_of(path);
    (!Path::new(parent).exists()).then(|| remote_error(parent, NO_PARENT))
}

fn copy_file_atomically(local: &Path, remote: &str, mode: u32) -> Result<u64, UploadError> {
    let mut source = std::fs::File::open(local).map_err(|err| local_error(local, err))?;
    let temp = temp_name(remote);
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .map_err(|err| {
            missing_local_parent(remote)
                .unwrap_or_else(|| remote_error(&temp, format!("cannot create: {err}")))
        })?;
    let copied = (|| {
        let mut buffer = vec![0u8; 128 * 1024];
        let mut bytes = 0u64;
        loop {
            let read = source
                .read(&mut buffer)
                .map_err(|err| local_error(local, err))?;
            if read == 0 {
                break;
            }
            target
                .write_all(&buffer[..read])
                .map_err(|err| remote_error(&temp, format!("write failed: {err}")))?;
            bytes += read as u64;
        }
        target
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|err| remote_error(&temp, format!("cannot set mode {mode:o}: {err}")))?;
        target
            .sync_all()
            .map_err(|err| remote_error(&temp, format!("fsync failed: {err}")))?;
        std::fs::rename(&temp, remote).map_err(|err| {
            remote_error(
                remote,
                format!("cannot rename the copied file into place: {err}"),
            )
        })?;
        Ok(bytes)
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_sit_beside_the_destination() {
        let name = temp_name("/srv/app/config.yml");
        assert!(name.starts_with("/srv/app/.config.yml.jobdeck-"), "{name}");
        assert!(name.ends_with(".tmp"));
        assert_ne!(name, temp_name("/srv/app/config.yml"));
        assert!(temp_name("relative").starts_with(".relative.jobdeck-"));
    }

    #[test]
    fn plans_list_parents_first_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir_all(root.join("b/inner")).unwrap();
        std::fs::write(root.join("z.txt"), "z").unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(root.join("b/inner/deep"), "d").unwrap();
        let items = plan(&root, "/dest/", Some(0o640).into()).unwrap();
        let remotes: Vec<&str> = items
            .iter()
            .map(|item| match item {
                Item::Parent { remote } | Item::Dir { remote, .. } | Item::File { remote, .. } => {
                    remote.as_str()
                }
            })
            .collect();
        assert_eq!(
            remotes,
            [
                "/dest/",
                "/dest/a.txt",
                "/dest/b",
                "/dest/b/inner",
                "/dest/b/inner/deep",
                "/dest/z.txt"
            ]
        );
        assert!(items.iter().all(|item| match item {
            Item::File { mode, .. } => *mode == 0o640,
            Item::Dir { mode, .. } => mode & 0o700 == 0o700,
            Item::Parent { .. } => false,
        }));
    }

    #[test]
    fn parents_are_the_directories_above_the_destination() {
        assert_eq!(
            ancestors("/srv/app/conf/x.conf"),
            ["/srv", "/srv/app", "/srv/app/conf"]
        );
        assert_eq!(ancestors("/srv/tree/"), ["/srv"]);
        assert_eq!(ancestors("conf//x"), ["conf"]);
        assert!(ancestors("/x").is_empty() && ancestors("x").is_empty());
        assert!(ancestors("./x").is_empty() && ancestors("~/x").is_empty());
        assert_eq!(parent_of("/srv/x"), "/srv");
        assert_eq!(parent_of("/x"), "/");
        assert_eq!(parent_of("x"), ".");
    }

    #[tokio::test]
    async fn a_missing_parent_is_named_unless_parents_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("app.conf");
        std::fs::write(&source, "a = 1\n").unwrap();
        let dest = dir.path().join("new/conf/app.conf");
        let dest = dest.to_str().unwrap();
        let err = upload_local(&source, dest, None.into()).await.unwrap_err();
        let UploadError::Remote { path, detail } = &err else {
            panic!("{err}");
        };
        assert_eq!(path, dir.path().join("new/conf").to_str().unwrap());
        assert!(detail.contains("parents: true"), "{err}");
        assert!(!dir.path().join("new").exists(), "nothing was created");

        let options = UploadOptions {
            mode: Some(0o600),
            parents: true,
        };
        let report = upload_local(&source, dest, options).await.unwrap();
        assert_eq!((report.files, report.directories), (1, 2));
        assert_eq!(std::fs::read_to_string(dest).unwrap(), "a = 1\n");
        // Again: the parents are there now, nothing more is created.
        let report = upload_local(&source, dest, options).await.unwrap();
        assert_eq!(report.directories, 0);
    }

    #[tokio::test]
    async fn local_upload_replaces_atomically_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src.bin");
        std::fs::write(&source, vec![7u8; 100_000]).unwrap();
        let dest = dir.path().join("dest.bin");
        std::fs::write(&dest, "old").unwrap();
        let report = upload_local(&source, dest.to_str().unwrap(), Some(0o600).into())
            .await
            .unwrap();
        assert_eq!((report.bytes, report.files), (100_000, 1));
        assert_eq!(std::fs::read(&dest).unwrap(), vec![7u8; 100_000]);
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("jobdeck-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[tokio::test]
    async fn local_upload_failure_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        std::fs::write(&source, "data").unwrap();
        // The destination is a non-empty directory: the rename must fail.
        let dest = dir.path().join("occupied");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("keep"), "x").unwrap();
        let err = upload_local(&source, dest.to_str().unwrap(), None.into())
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Remote { .. }), "{err}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("jobdeck-")), "{names:?}");
        let missing = upload_local(&dir.path().join("nope"), "/tmp/x", None.into())
            .await
            .unwrap_err();
        assert!(matches!(missing, UploadError::Local { .. }));
    }
}
