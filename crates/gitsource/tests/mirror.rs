//! The mirror API against real repositories: a path, `file://`, and authenticated smart HTTP.

mod support {
    pub mod fixture;
}

use gitsource::mirror::{CommitId, EntryKind, FetchOptions, MirrorStore};
use gitsource::{GitError, Remote, Secret};
use support::fixture::{bare_repo, commit_files, git};
use testkit::http_git::GitHttpServer;

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("README.md", "hello\n"),
        ("deploy/.envs/dev.yaml", "env: dev\n"),
        ("deploy/.envs/latest.yaml", "latest: {}\n"),
        ("deploy/charts/web/Chart.yaml", "name: web\n"),
        ("deploy/charts/web/templates/svc.yaml", "kind: Service\n"),
        ("deploy/chartsx/other.yaml", "x: 1\n"),
    ]
}

#[test]
fn fetch_list_read_and_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "deploy.git", &files());
    git(&bare, &["tag", "v1.0.0", "main"]);
    git(
        &bare,
        &["tag", "-a", "-m", "annotated", "release-1", "main"],
    );
    let store = MirrorStore::new(tmp.path().join("mirrors")).unwrap();
    let remote = Remote::parse(bare.to_str().unwrap()).unwrap();
    let mirror = store.open(&remote).unwrap();
    assert!(mirror.path().starts_with(tmp.path().join("mirrors")));
    assert_eq!(store.path_for(&remote), mirror.path());

    let c1 = mirror.fetch("main", &FetchOptions::default()).unwrap();
    assert_eq!(c1.as_str(), git(&bare, &["rev-parse", "main"]));
    assert_eq!(mirror.resolve("main").unwrap(), c1);
    assert_eq!(
        mirror.fetch("v1.0.0", &FetchOptions::default()).unwrap(),
        c1
    );
    assert_eq!(
        mirror.fetch("release-1", &FetchOptions::default()).unwrap(),
        c1
    );
    assert_eq!(mirror.resolve("release-1").unwrap(), c1);
    assert_eq!(mirror.fetch("HEAD", &FetchOptions::default()).unwrap(), c1);
    assert_eq!(
        mirror.fetch(c1.as_str(), &FetchOptions::default()).unwrap(),
        c1
    );
    assert_eq!(mirror.resolve(c1.as_str()).unwrap(), c1);

    let listed: Vec<String> = mirror
        .list_files(&c1, "deploy/charts")
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        listed,
        [
            "deploy/charts/web/Chart.yaml",
            "deploy/charts/web/templates/svc.yaml"
        ]
    );
    assert_eq!(mirror.list_files(&c1, "").unwrap().len(), 6);
    assert_eq!(
        mirror.list_files(&c1, "/deploy/.envs/").unwrap()[0].kind,
        EntryKind::File
    );
    assert_eq!(
        mirror.read_file(&c1, "deploy/.envs/dev.yaml").unwrap(),
        b"env: dev\n"
    );
    let all = mirror.read_files(&c1, "deploy/.envs").unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["deploy/.envs/latest.yaml"], b"latest: {}\n");
    assert!(matches!(
        mirror.read_file(&c1, "deploy/nope.yaml"),
        Err(GitError::PathNotFound { .. })
    ));

    // A new commit: fetch it, diff against the old tip.
    let c2 = commit_files(
        &bare,
        &[
            ("deploy/.envs/dev.yaml", "env: dev2\n"),
            ("new/file.txt", "n\n"),
        ],
        "second",
    );
    let fetched = mirror.fetch("main", &FetchOptions::default()).unwrap();
    assert_eq!(fetched.as_str(), c2);
    assert_eq!(
        mirror.changed_paths(&c1, &fetched).unwrap(),
        ["deploy/.envs/dev.yaml", "new/file.txt"]
    );
    assert_eq!(
        mirror.read_file(&fetched, "deploy/.envs/dev.yaml").unwrap(),
        b"env: dev2\n"
    );
    // The old commit stays readable.
    assert_eq!(
        mirror.read_file(&c1, "deploy/.envs/dev.yaml").unwrap(),
        b"env: dev\n"
    );

    // Reopening the store finds the same mirror and its refs.
    let again = MirrorStore::new(tmp.path().join("mirrors"))
        .unwrap()
        .open(&remote)
        .unwrap();
    assert_eq!(again.resolve("main").unwrap(), fetched);

    let refs = mirror.ls_remote().unwrap();
    assert_eq!(refs["refs/heads/main"], fetched);
    assert_eq!(refs["refs/tags/release-1"], c1, "annotated tags are peeled");

    assert!(matches!(
        mirror.fetch("no-such-branch", &FetchOptions::default()),
        Err(GitError::UnknownRevision { .. })
    ));
    assert!(matches!(
        mirror.resolve("nope"),
        Err(GitError::UnknownRevision { .. })
    ));
    let unknown = CommitId::parse(&"1".repeat(40)).unwrap();
    assert!(matches!(
        mirror.changed_paths(&unknown, &fetched),
        Err(GitError::UnknownRevision { .. })
    ));
    assert!(CommitId::parse("main").is_err());
}

#[test]
fn filtered_fetch_over_authenticated_http_reads_blobs_on_demand() {
    let tmp = tempfile::tempdir().unwrap();
    bare_repo(tmp.path(), "deploy.git", &files());
    let server = GitHttpServer::start(tmp.path(), "reader", "tok-12345");
    let store = MirrorStore::new(tmp.path().join("mirrors")).unwrap();

    // Wrong credentials: a clear, redacted error.
    let bad = Remote::parse(&server.url("deploy.git"))
        .unwrap()
        .with_basic_auth("reader", Secret::new("wrong-pass"));
    let err = store
        .open(&bad)
        .unwrap()
        .fetch("main", &FetchOptions::default())
        .unwrap_err();
    assert!(matches!(err, GitError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-pass"), "{err}");

    let url = server
        .url("deploy.git")
        .replacen("http://", "http://reader:tok-12345@", 1);
    let remote = Remote::parse(&url).unwrap();
    assert!(!remote.url().contains("tok-12345"));
    let mirror = store.open(&remote).unwrap();
    let opts = FetchOptions {
        depth: Some(1),
        filter_blobs: true,
    };
    let c = mirror.fetch("main", &opts).unwrap();
    // Trees arrived, blobs did not.
    let missing = git(
        mirror.path(),
        &["rev-list", "--objects", "--missing=print", c.as_str()],
    );
    assert_eq!(
        missing.lines().filter(|l| l.starts_with('?')).count(),
        6,
        "{missing}"
    );
    assert_eq!(mirror.list_files(&c, "").unwrap().len(), 6);
    let envs = mirror.read_files(&c, "deploy/.envs").unwrap();
    assert_eq!(envs["deploy/.envs/dev.yaml"], b"env: dev\n");
    let missing = git(
        mirror.path(),
        &["rev-list", "--objects", "--missing=print", c.as_str()],
    );
    assert_eq!(
        missing.lines().filter(|l| l.starts_with('?')).count(),
        4,
        "{missing}"
    );
    // The mirror's config holds no secret.
    let config = std::fs::read_to_string(mirror.path().join("config")).unwrap();
    assert!(!config.contains("tok-12345"), "{config}");
}

#[test]
fn concurrent_fetches_into_one_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "deploy.git", &files());
    let store = MirrorStore::new(tmp.path().join("mirrors")).unwrap();
    let remote = Remote::parse(bare.to_str().unwrap()).unwrap();
    let expected = git(&bare, &["rev-parse", "main"]);
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            let remote = remote.clone();
            std::thread::spawn(move || {
                // Each worker opens its own handle, as separate processes would.
                let m = store.open(&remote).unwrap();
                let rev = if i % 2 == 0 { "main" } else { "HEAD" };
                let c = m.fetch(rev, &FetchOptions::default()).unwrap();
                let content = m.read_file(&c, "README.md").unwrap();
                (c, content)
            })
        })
        .collect();
    for h in handles {
        let (c, content) = h.join().unwrap();
        assert_eq!(c.as_str(), expected);
        assert_eq!(content, b"hello\n");
    }
}
