//! Uploads over SFTP to a real sshd: files, trees, modes, atomic replacement.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jobdeck::transport::{
    self, HostSession, KnownHosts, Target, Transport, TransportOptions, UploadError,
};
use support::SshdFixture;

fn isolated_options() -> TransportOptions {
    TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    }
}

async fn connect(sshd: &SshdFixture) -> HostSession {
    let mut target = Target::new("sftp-host");
    target.address = "127.0.0.1".into();
    target.port = sshd.port;
    target.user = sshd.user.clone();
    target.identity_files = vec![sshd.client_key.clone()];
    target.user_known_hosts = vec![sshd.known_hosts.clone()];
    target.global_known_hosts = Vec::new();
    Transport::new(isolated_options())
        .connect(&target)
        .await
        .unwrap_or_else(|result| panic!("{result:?}"))
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names in `dir` that look like our temporary files.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".jobdeck-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_file_with_its_mode_and_reports_bytes() {
    let sshd = SshdFixture::start();
    let session = connect(&sshd).await;
    let source = sshd.path("payload.bin");
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&source, &data).unwrap();
    let dest_dir = sshd.path("dest");
    std::fs::create_dir(&dest_dir).unwrap();
    let dest = dest_dir.join("installed.bin");

    let report = session
        .upload(&source, dest.to_str().unwrap(), Some(0o640))
        .await
        .unwrap();
    assert_eq!(
        (report.bytes, report.files, report.directories),
        (1_000_003, 1, 0)
    );
    assert!(report.elapsed.as_nanos() > 0);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(mode_of(&dest), 0o640);
    assert!(leftovers(&dest_dir).is_empty());

    // Without a mode the local permission bits travel (not the server's umask).
    std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o751)).unwrap();
    session
        .upload(&source, dest.to_str().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(mode_of(&dest), 0o751);
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_directory_tree() {
    let sshd = SshdFixture::start();
    let session = connect(&sshd).await;
    let tree = sshd.path("tree");
    std::fs::create_dir_all(tree.join("etc/conf.d")).unwrap();
    std::fs::create_dir_all(tree.join("empty")).unwrap();
    std::fs::write(tree.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(tree.join("etc/app.conf"), "a=1\n").unwrap();
    std::fs::write(tree.join("etc/conf.d/extra.conf"), vec![b'x'; 70_000]).unwrap();
    let dest = sshd.path("deployed");
    // An existing destination keeps its unrelated files; ours are replaced.
    std::fs::create_dir_all(dest.join("etc")).unwrap();
    std::fs::write(dest.join("keep.txt"), "mine").unwrap();
    std::fs::write(dest.join("etc/app.conf"), "old").unwrap();

    let report = session
        .upload(&tree, dest.to_str().unwrap(), Some(0o750))
        .await
        .unwrap();
    assert_eq!(report.files, 3);
    assert_eq!(report.directories, 4, "tree, empty, etc, etc/conf.d");
    assert_eq!(report.bytes, 18 + 4 + 70_000);
    assert_eq!(
        std::fs::read_to_string(dest.join("run.sh")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("etc/app.conf")).unwrap(),
        "a=1\n"
    );
    assert_eq!(
        std::fs::read(dest.join("etc/conf.d/extra.conf"))
            .unwrap()
            .len(),
        70_000
    );
    assert!(dest.join("empty").is_dir());
    assert_eq!(
        std::fs::read_to_string(dest.join("keep.txt")).unwrap(),
        "mine"
    );
    for file in ["run.sh", "etc/app.conf", "etc/conf.d/extra.conf"] {
        assert_eq!(mode_of(&dest.join(file)), 0o750, "{file}");
    }
    for dir in [&dest, &dest.join("etc"), &dest.join("etc/conf.d")] {
        assert!(leftovers(dir).is_empty(), "{}", dir.display());
    }
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacement_is_atomic_for_readers() {
    let sshd = SshdFixture::start();
    let session = connect(&sshd).await;
    const OLD_LEN: usize = 3 * 1024 * 1024;
    const NEW_LEN: usize = 12 * 1024 * 1024;
    let dest = sshd.path("live.dat");
    std::fs::write(&dest, vec![b'o'; OLD_LEN]).unwrap();
    let source = sshd.path("new.dat");
    std::fs::write(&source, vec![b'n'; NEW_LEN]).unwrap();

    // A reader keeps opening the destination while the upload runs: every read must be
    // the whole old file or the whole new one.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dest, done) = (dest.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0u32;
            let mut saw_new = false;
            while !done.load(Ordering::Relaxed) || !saw_new {
                let content = std::fs::read(&dest).expect("the destination always exists");
                let whole_old = content.len() == OLD_LEN && content.iter().all(|&b| b == b'o');
                let whole_new = content.len() == NEW_LEN && content.iter().all(|&b| b == b'n');
                assert!(
                    whole_old || whole_new,
                    "a reader saw a partial file of {} bytes",
                    content.len()
                );
                saw_new |= whole_new;
                reads += 1;
                if done.load(Ordering::Relaxed) && !saw_new {
                    // One more read after the rename must see the new file.
                    let content = std::fs::read(&dest).unwrap();
                    assert_eq!(content.len(), NEW_LEN);
                    saw_new = true;
                }
            }
            reads
        })
    };
    let report = session
        .upload(&source, dest.to_str().unwrap(), Some(0o644))
        .await
        .unwrap();
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader saw only whole files");
    assert!(
        reads > 1,
        "the reader ran during the upload ({reads} reads)"
    );
    assert_eq!(report.bytes, NEW_LEN as u64);
    assert!(leftovers(&sshd.path("")).is_empty());
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_path_and_leave_nothing_behind() {
    let sshd = SshdFixture::start();
    let session = connect(&sshd).await;
    let source = sshd.path("small.txt");
    std::fs::write(&source, "data").unwrap();
    let missing_dir = sshd.path("no/such/dir/file.txt");
    let err = session
        .upload(&source, missing_dir.to_str().unwrap(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UploadError::Remote { path, .. } if path.contains("no/such/dir")),
        "{err}"
    );
    // Destination is a non-empty directory: the final rename fails, the temp is removed.
    let occupied = sshd.path("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("x"), "x").unwrap();
    let err = session
        .upload(&source, occupied.to_str().unwrap(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Remote { .. }), "{err}");
    assert!(
        leftovers(sshd.dir.path()).is_empty(),
        "{:?}",
        leftovers(sshd.dir.path())
    );
    let err = session
        .upload(&sshd.path("absent"), "/tmp/whatever", None)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Local { .. }), "{err}");
    session.close().await;
}

#[tokio::test]
async fn local_connection_uploads_with_the_same_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("src");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/f"), "local").unwrap();
    let session = Transport::new(isolated_options())
        .connect(&Target::local("localhost"))
        .await
        .unwrap();
    let dest = dir.path().join("dest");
    let report = session
        .upload(&tree, dest.to_str().unwrap(), Some(0o600))
        .await
        .unwrap();
    assert_eq!((report.files, report.directories, report.bytes), (1, 2, 5));
    assert_eq!(
        std::fs::read_to_string(dest.join("sub/f")).unwrap(),
        "local"
    );
    assert_eq!(mode_of(&dest.join("sub/f")), 0o600);
}

/// A missing parent directory of the destination is named, with the fix;
/// `parents: true` creates it (and what is above it) over SFTP first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_parents_are_named_or_created() {
    let sshd = SshdFixture::start();
    let session = connect(&sshd).await;
    let source = sshd.path("app.conf");
    std::fs::write(&source, "a = 1\n").unwrap();
    let dest = sshd.path("lab/conf/app.conf");
    let dest = dest.to_str().unwrap();
    let err = session.upload(&source, dest, None).await.unwrap_err();
    match &err {
        UploadError::Remote { path, detail } => {
            assert_eq!(path, sshd.path("lab/conf").to_str().unwrap());
            assert!(detail.contains("parents: true"), "{err}");
        }
        other => panic!("{other}"),
    }
    assert!(!sshd.path("lab").exists());

    let options = transport::UploadOptions {
        mode: Some(0o640),
        parents: true,
    };
    let report = session.upload(&source, dest, options).await.unwrap();
    assert_eq!((report.files, report.directories), (1, 2));
    assert_eq!(std::fs::read_to_string(dest).unwrap(), "a = 1\n");
    assert_eq!(mode_of(Path::new(dest)), 0o640);
    assert!(sshd.path("lab/conf").is_dir());
    // A tree under a missing parent: its own directory is created too.
    let tree = sshd.path("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/x"), "x").unwrap();
    let tree_dest = sshd.path("deep/er/tree");
    let report = session
        .upload(&tree, tree_dest.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.files, 1);
    assert_eq!(
        std::fs::read_to_string(tree_dest.join("sub/x")).unwrap(),
        "x"
    );
    session.close().await;
}
