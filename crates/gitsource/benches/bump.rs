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
//! (default `/work/bench-repo`, outside the source tree), then housekept like a hosting server
//! keeps its repositories (full repack, commit-graph; `FERRY_BENCH_RAW=1` skips that), and reused.

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
    eprintln!(
        "generated {} ({commits} commits, {files} files) in {:.1}s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
}

/// Brings the repository into the state a maintained server keeps (GitLab housekeeping,
/// `git gc --aggressive`): one pack with deltas recomputed so that recent objects are delta
/// bases, and a commit-graph. Without it, trees fast-import wrote sit at the end of 30-50 deep
/// delta chains, and the server spends most of a shallow fetch resolving them.
fn housekeep(path: &Path) {
    let marker = path.join("ferry-bench-housekept");
    if marker.exists() {
        return;
    }
    let t = Instant::now();
    git(
        path,
        &[
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--window=10",
            "--depth=50",
        ],
    );
    git(path, &["commit-graph", "write", "--reachable"]);
    std::fs::write(&marker, "repack -a -d -f; commit-graph write --reachable\n").expect("marker");
    eprintln!(
        "housekept {} in {:.1}s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
}

/// CPU time (user + system) of this process's waited-for children so far: every git process
/// a bump runs, on both sides of the connection. Unlike wall time it hardly moves when other
/// work loads the machine.
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_bumps(remote: &Remote, runs: usize, label: &str) -> (Duration, Duration) {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for r in 0..runs {
        let edit = ScalarEdit {
            path: KeyPath::parse(".latest.web.server.tag").expect("path"),
            value: format!("1.{}.{}", std::process::id(), r),
        };
        let mut req = BumpRequest::new(remote.clone(), ".envs/latest.yaml", vec![edit]);
        req.branch = Some("main".into());
        let t = Instant::now();
        let c = children_cpu();
        let out = bump(&req).expect("bump");
        let d = t.elapsed();
        cpu.push(children_cpu().saturating_sub(c));
        assert!(out.commit.is_some());
        times.push(d);
    }
    let m = median(times.clone());
    let mc = median(cpu.clone());
    println!(
        "{label:<44} median {:>7.3}s wall, {:>6.3}s git CPU  (wall runs: {})",
        m.as_secs_f64(),
        mc.as_secs_f64(),
        times
            .iter()
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    (m, mc)
}

fn time_clone(url: &str, dest: &Path, label: &str) -> (Duration, Duration) {
    let _ = std::fs::remove_dir_all(dest);
    let t = Instant::now();
    let c = children_cpu();
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
    let cpu = children_cpu().saturating_sub(c);
    let _ = std::fs::remove_dir_all(dest);
    println!(
        "{label:<44}        {:>7.3}s wall, {:>6.3}s git CPU",
        d.as_secs_f64(),
        cpu.as_secs_f64()
    );
    (d, cpu)
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
    let raw = std::env::var("FERRY_BENCH_RAW").is_ok_and(|v| v == "1");
    if !raw {
        housekeep(&long);
        housekeep(&short);
    }
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
    let pct = |a: Duration, b: Duration| 100.0 * a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "\nbump vs full clone: {:.1}% wall / {:.1}% CPU (file://), {:.1}% wall / {:.1}% CPU (http)",
        pct(bump_long.0, clone.0),
        pct(bump_long.1, clone.1),
        pct(bump_http.0, clone.0),
        pct(bump_http.1, clone.1),
    );
    println!(
        "long vs one-commit history: {:.2}x wall, {:.2}x CPU",
        bump_long.0.as_secs_f64() / bump_short.0.as_secs_f64().max(1e-9),
        bump_long.1.as_secs_f64() / bump_short.1.as_secs_f64().max(1e-9),
    );
}
