//! Benchmark: one `bump` against a large repository (100,000 commits, 50,000 files) next to a
//! full `git clone` of it, and the same bump against a one-commit repository of the same tree,
//! to show the cost does not depend on history length.
//!
//! ```text
//! cargo bench -p gitsource --bench bump
//! FERRY_BENCH_DIR=/work/bench-repo FERRY_BENCH_COMMITS=100000 FERRY_BENCH_FILES=50000 \
//!   FERRY_BENCH_RUNS=5 cargo bench -p gitsource --bench bump
//! ```
//!
//! The repositories are generated once with `git fast-import` under `FERRY_BENCH_DIR`
//! (default `/work/bench-repo`, outside the source tree) and reused.

#[path = "../tests/support/http_git.rs"]
mod http_git;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitsource::Remote;
use gitsource::bump::{BumpRequest, bump};
use gitsource::yamledit::{KeyPath, ScalarEdit};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const LATEST: &str =
    "# newest tag per app component\nlatest:\n  web:\n    server:\n      tag: \"1.0.0\"\n";

/// Generates a bare repository: one commit adding `files` files (plus .envs/latest.yaml), then
/// `commits - 1` commits each changing one file.
fn generate(path: &Path, commits: usize, files: usize) {
    if path.join("HEAD").exists() {
        return;
    }
    let t = Instant::now();
    std::fs::create_dir_all(path).expect("mkdir");
    git(path, &["init", "-q", "--bare"]);
    let mut child = Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    {
        let stdin = child.stdin.as_mut().expect("stdin");
        let mut w = std::io::BufWriter::with_capacity(1 << 20, stdin);
        let ts = 1_700_000_000u64;
        let data = |w: &mut dyn Write, s: &str| {
            write!(w, "data {}\n{}\n", s.len(), s).expect("write");
        };
        let file = |i: usize| format!("services/s{:03}/f{:05}.yaml", i % 100, i);
        writeln!(
            w,
            "commit refs/heads/main\ncommitter Bench <bench@example.com> {ts} +0000"
        )
        .unwrap();
        data(&mut w, "initial tree");
        writeln!(w, "M 100644 inline .envs/latest.yaml").unwrap();
        data(&mut w, LATEST);
        for i in 0..files {
            writeln!(w, "M 100644 inline {}", file(i)).unwrap();
            data(&mut w, &format!("name: f{i}\nreplicas: 1\n"));
        }
        for c in 1..commits {
            writeln!(
                w,
                "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000",
                ts + c as u64
            )
            .unwrap();
            data(&mut w, &format!("change {c}"));
            let i = (c * 7919) % files.max(1);
            writeln!(w, "M 100644 inline {}", file(i)).unwrap();
            data(&mut w, &format!("name: f{i}\nreplicas: {c}\n"));
        }
        writeln!(w, "done").unwrap();
        w.flush().unwrap();
    }
    assert!(child.wait().expect("wait").success(), "fast-import failed");
    git(path, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    git(path, &["config", "uploadpack.allowFilter", "true"]);
    git(path, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    git(path, &["config", "http.receivepack", "true"]);
    git(path, &["repack", "-a", "-d", "-q"]);
    eprintln!(
        "generated {} ({commits} commits, {files} files) in {:.1}s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_bumps(remote: &Remote, runs: usize, label: &str) -> Duration {
    let mut times = Vec::new();
    for r in 0..runs {
        let edit = ScalarEdit {
            path: KeyPath::parse(".latest.web.server.tag").expect("path"),
            value: format!("1.{}.{}", std::process::id(), r),
        };
        let mut req = BumpRequest::new(remote.clone(), ".envs/latest.yaml", vec![edit]);
        req.branch = Some("main".into());
        let t = Instant::now();
        let out = bump(&req).expect("bump");
        let d = t.elapsed();
        assert!(out.commit.is_some());
        times.push(d);
    }
    let m = median(times.clone());
    println!(
        "{label:<48} median {:>8.3}s  (runs: {})",
        m.as_secs_f64(),
        times
            .iter()
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    m
}

fn time_clone(url: &str, dest: &Path, label: &str) -> Duration {
    let _ = std::fs::remove_dir_all(dest);
    let t = Instant::now();
    let out = Command::new("git")
        .args(["clone", "-q", "--no-local", url])
        .arg(dest)
        .output()
        .expect("clone");
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dest);
    println!("{label:<48} {:>15.3}s", d.as_secs_f64());
    d
}

fn main() {
    let dir: PathBuf = env_or("FERRY_BENCH_DIR", PathBuf::from("/work/bench-repo"));
    let commits: usize = env_or("FERRY_BENCH_COMMITS", 100_000);
    let files: usize = env_or("FERRY_BENCH_FILES", 50_000);
    let runs: usize = env_or("FERRY_BENCH_RUNS", 5);
    let long = dir.join(format!("long-{commits}x{files}.git"));
    let short = dir.join(format!("short-1x{files}.git"));
    generate(&long, commits, files);
    generate(&short, 1, files);
    let count = git(&long, &["rev-list", "--count", "main"]);
    let size = git(&long, &["count-objects", "-v", "-H"]);
    let size = size
        .lines()
        .find(|l| l.starts_with("size-pack"))
        .unwrap_or("")
        .to_string();
    println!(
        "repository: {} ({count} commits on main, {files} files, {size})",
        long.display()
    );

    let long_url = format!("file://{}", long.display());
    let short_url = format!("file://{}", short.display());
    let long_remote = Remote::parse(&long_url).expect("remote");
    let short_remote = Remote::parse(&short_url).expect("remote");
    let bump_long = time_bumps(&long_remote, runs, "bump, file://, long history");
    let bump_short = time_bumps(&short_remote, runs, "bump, file://, one-commit history");

    // The same over authenticated smart HTTP (git http-backend behind Basic auth).
    let server = http_git::GitHttpServer::start(&dir, "bench", "bench-token");
    let http_remote = Remote::parse(&server.url(long.file_name().unwrap().to_str().unwrap()))
        .expect("remote")
        .with_basic_auth("bench", gitsource::Secret::new("bench-token"));
    let bump_http = time_bumps(
        &http_remote,
        runs,
        "bump, http:// + Basic auth, long history",
    );

    let clone = time_clone(
        &long_url,
        &dir.join("clone-tmp"),
        "full git clone --no-local, long history",
    );
    println!(
        "\nbump/clone: {:.1}% (file://), {:.1}% (http); long/short history: {:.2}x",
        100.0 * bump_long.as_secs_f64() / clone.as_secs_f64(),
        100.0 * bump_http.as_secs_f64() / clone.as_secs_f64(),
        bump_long.as_secs_f64() / bump_short.as_secs_f64()
    );
}
