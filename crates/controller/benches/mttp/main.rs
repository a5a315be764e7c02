//! MTTP benchmark (in the style of Flux's "Mean Time To Production" benchmark): 1,000 apps
//! from one git repository into ferry's embedded cluster.
//!
//! Set-up (all on loopback, in a temporary directory):
//! * a git repository with one Helm chart (`charts/app`: Deployment, Service, ServiceAccount,
//!   Ingress) and one values file per app (`apps/app-NNNN/values.yaml`), served by a real
//!   `git http-backend` (smart HTTP);
//! * the embedded cluster, `ferry cluster serve` (its own process, simulated workload delay
//!   `MTTP_SIM_DELAY_MS`, default 50 ms);
//! * the controller, `ferry controller --kubeconfig …` (its own process, so that its peak
//!   memory, `VmHWM`, and CPU time are its own);
//! * 1,000 `Application` objects, one per app (as Flux's benchmark applies 1,000 objects from
//!   one repository), created by this program with automated sync, prune, self-heal and
//!   `CreateNamespace=true`, each in its own destination namespace, each annotated with
//!   `manifest-generate-paths` so that a push refreshes only the apps whose files changed.
//!
//! Measured: time from the first Application created until all are `Synced` + `Healthy` at
//! the pushed commit; the controller's peak resident memory and CPU time; then, for
//! `MTTP_ROUNDS` rounds, a commit changing one app's image tag, pushed, followed by a GitHub
//! push webhook POSTed to the controller's `/api/webhook`: time from the push until the new
//! image is in the live Deployment, and until the app reports `Synced` at the new commit.
//!
//! Run: `cargo build --release -p ferry && cargo bench -p controller --bench mttp`
//! (`FERRY_BIN` overrides the binary, `MTTP_APPS`, `MTTP_ROUNDS`, `MTTP_SIM_DELAY_MS`,
//! `MTTP_WORKERS` — passed on as `FERRY_WORKERS` when set —, `MTTP_KEEP=1` keeps the temporary
//! directory with the controller's log).

mod fixture;
// The smart-HTTP git server of the tests (the dev-only `testkit` crate).
use testkit::http_git as git_http;
mod procstat;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};
use kube::runtime::watcher;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

struct Config {
    ferry: PathBuf,
    apps: usize,
    rounds: usize,
    sim_delay_ms: u64,
    keep: bool,
    timeout: Duration,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn from_env() -> Res<Config> {
        let ferry = match std::env::var_os("FERRY_BIN") {
            Some(p) => PathBuf::from(p),
            None => {
                // target/<profile>/deps/mttp-<hash> → target/<profile>/ferry
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                exe.parent()
                    .and_then(Path::parent)
                    .map(|d| d.join("ferry"))
                    .ok_or("cannot locate the target directory")?
            }
        };
        if !ferry.is_file() {
            return Err(format!(
                "ferry binary not found at {} (build it first: cargo build --release -p ferry, \
                 or set FERRY_BIN)",
                ferry.display()
            ));
        }
        Ok(Config {
            ferry,
            apps: env_num("MTTP_APPS", 1000)?,
            rounds: env_num("MTTP_ROUNDS", 5)?,
            sim_delay_ms: env_num("MTTP_SIM_DELAY_MS", 50)?,
            keep: std::env::var("MTTP_KEEP").is_ok_and(|v| v == "1"),
            timeout: Duration::from_secs(env_num("MTTP_TIMEOUT_S", 600)?),
        })
    }
}

/// A child process killed (by its own pid) when dropped.
struct Proc {
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A minimal HTTP/1.1 request on loopback; returns `(status, body)`.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Res<(u16, String)> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad HTTP response {resp:?}"))?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    Ok((code, body))
}

fn start_cluster(cfg: &Config, dir: &Path) -> Res<(Proc, PathBuf)> {
    let kubeconfig = dir.join("kubeconfig");
    let port = free_port()?;
    let mut child = Command::new(&cfg.ferry)
        .args(["cluster", "serve", "--data-dir"])
        .arg(dir.join("cluster"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--kubeconfig-out"])
        .arg(&kubeconfig)
        .args(["--sim-delay-ms", &cfg.sim_delay_ms.to_string()])
        // One debug line per API request: the bench counts them (cluster.log).
        .env("FERRY_LOG", "warn,apiserver::api=debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("cluster.log")).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", cfg.ferry.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut proc = Proc { child };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if !line.contains("listening") {
        let status = proc.child.try_wait().ok().flatten();
        return Err(format!(
            "the cluster did not start ({status:?}); see {}",
            dir.join("cluster.log").display()
        ));
    }
    Ok((proc, kubeconfig))
}

fn start_controller(cfg: &Config, dir: &Path, kubeconfig: &Path) -> Res<(Proc, SocketAddr)> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut cmd = Command::new(&cfg.ferry);
    cmd.args(["controller", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--data-dir")
        .arg(dir.join("controller"))
        .args(["--http-listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("controller.log")).map_err(|e| e.to_string())?);
    if let Ok(w) = std::env::var("MTTP_WORKERS") {
        cmd.env("FERRY_WORKERS", w);
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", cfg.ferry.display()))?;
    let mut proc = Proc { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/readyz", &[], b"") {
            return Ok((proc, addr));
        }
        if let Ok(Some(st)) = proc.child.try_wait() {
            return Err(format!(
                "the controller exited ({st}); see {}",
                dir.join("controller.log").display()
            ));
        }
        if Instant::now() > deadline {
            return Err("the controller was not ready after 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the watch saw of each app: `(sync status, health status, sync revision)`.
#[derive(Default)]
struct Seen {
    state: HashMap<String, (String, String, String)>,
    /// When each app was first Synced + Healthy at the initial commit.
    done: HashMap<String, Instant>,
}

fn status_of(v: &serde_json::Value) -> (String, String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        s("/status/sync/status"),
        s("/status/health/status"),
        s("/status/sync/revision"),
    )
}

fn is_done(st: &(String, String, String), revision: &str) -> bool {
    st.0 == "Synced" && st.1 == "Healthy" && st.2 == revision
}

fn fmt_d(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// API requests the cluster served so far, by method (from its `request` debug lines).
fn api_requests(log: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(text) = std::fs::read(log) else {
        return out;
    };
    for line in String::from_utf8_lossy(&text).lines() {
        if !line.contains("request") {
            continue;
        }
        // Strip ANSI colour sequences.
        let mut plain = String::with_capacity(line.len());
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c2 in chars.by_ref() {
                    if c2.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        if let Some(m) = plain
            .split_whitespace()
            .find_map(|w| w.strip_prefix("method="))
        {
            *out.entry(m.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// `total (GET n, PATCH n, …)`, the difference `now - before`.
fn fmt_requests(
    now: &std::collections::BTreeMap<String, u64>,
    before: &std::collections::BTreeMap<String, u64>,
) -> String {
    let mut total = 0;
    let parts: Vec<String> = now
        .iter()
        .filter_map(|(m, n)| {
            let d = n.saturating_sub(before.get(m).copied().unwrap_or(0));
            total += d;
            (d > 0).then(|| format!("{m} {d}"))
        })
        .collect();
    format!("{total} ({})", parts.join(", "))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(cfg: Config) -> Res<()> {
    let tmp = tempfile::Builder::new()
        .prefix("ferry-mttp-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let dir = tmp.path().to_path_buf();
    let load_start = procstat::loadavg();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());

    // Repository.
    let served = dir.join("served");
    let t = Instant::now();
    let (repo, commit1) = fixture::Repo::create(&dir, &served, cfg.apps)?;
    let server = git_http::GitHttpServer::open(&served);
    let repo_url = server.url("mttp.git");
    eprintln!(
        "mttp: repository with {} apps in {}",
        cfg.apps,
        fmt_d(t.elapsed())
    );

    // Cluster and controller.
    let (cluster, kubeconfig) = start_cluster(&cfg, &dir)?;
    let client = controller::kube_io::client_from_kubeconfig(Some(kubeconfig.as_path())).await?;
    let nss: Api<Namespace> = Api::all(client.clone());
    let argocd: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}))
    .map_err(|e| e.to_string())?;
    nss.create(&PostParams::default(), &argocd)
        .await
        .map_err(|e| format!("creating namespace argocd: {e}"))?;
    let (ctrl, ctrl_addr) = start_controller(&cfg, &dir, &kubeconfig)?;
    eprintln!(
        "mttp: cluster pid {}, controller pid {} ({}), sim delay {} ms",
        cluster.pid(),
        ctrl.pid(),
        ctrl_addr,
        cfg.sim_delay_ms
    );
    let ctrl_start = procstat::read(ctrl.pid()).unwrap_or_default();
    let cluster_start = procstat::read(cluster.pid()).unwrap_or_default();
    let cluster_log = dir.join("cluster.log");
    let requests_start = api_requests(&cluster_log);

    // Watch the Applications.
    let apps_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "argocd",
        &controller::reconciler::app_api_resource(),
    );
    let seen: Arc<Mutex<Seen>> = Default::default();
    let (seen2, api2, rev1) = (seen.clone(), apps_api.clone(), commit1.clone());
    let watch = tokio::spawn(async move {
        let mut stream = watcher(api2, watcher::Config::default()).boxed();
        while let Some(ev) = stream.next().await {
            let obj = match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => o,
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("mttp: watch error: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let name = obj.metadata.name.clone().unwrap_or_default();
            let v = serde_json::to_value(&obj).unwrap_or_default();
            let st = status_of(&v);
            if let Ok(mut s) = seen2.lock() {
                if is_done(&st, &rev1) && !s.done.contains_key(&name) {
                    s.done.insert(name.clone(), Instant::now());
                }
                s.state.insert(name, st);
            }
        }
    });

    // Phase 1: 1,000 Applications → all Synced + Healthy.
    eprintln!("mttp: creating {} Applications", cfg.apps);
    let t0 = Instant::now();
    let apps: Vec<String> = (0..cfg.apps).map(fixture::app_name).collect();
    futures_util::stream::iter(apps.iter().map(|name| {
        let api = apps_api.clone();
        let obj = fixture::application(name, &repo_url);
        async move {
            let obj: DynamicObject = serde_json::from_value(obj).map_err(|e| e.to_string())?;
            api.create(&PostParams::default(), &obj)
                .await
                .map_err(|e| format!("creating Application {name}: {e}"))
                .map(|_| ())
        }
    }))
    .buffer_unordered(8)
    .try_collect::<Vec<()>>()
    .await?;
    let created = t0.elapsed();
    eprintln!("mttp: created in {}", fmt_d(created));
    let mut last_report = Instant::now();
    loop {
        let n = seen.lock().map(|s| s.done.len()).unwrap_or(0);
        if n >= cfg.apps {
            break;
        }
        if t0.elapsed() > cfg.timeout {
            return Err(format!(
                "only {n} of {} apps Synced + Healthy after {}; controller log: {}",
                cfg.apps,
                fmt_d(cfg.timeout),
                dir.join("controller.log").display()
            ));
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            let r = procstat::read(ctrl.pid()).unwrap_or_default();
            eprintln!(
                "mttp: {:>6} {n}/{} done, controller RSS {} (peak {}), CPU {}, load {}",
                fmt_d(t0.elapsed()),
                cfg.apps,
                mib(r.rss_kib),
                mib(r.hwm_kib),
                fmt_d(r.cpu.saturating_sub(ctrl_start.cpu)),
                procstat::loadavg()
            );
        }
        if procstat::read(ctrl.pid()).is_none() {
            return Err("the controller died".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_done = t0.elapsed();
    let mut per_app: Vec<Duration> = seen
        .lock()
        .map(|s| s.done.values().map(|t| t.duration_since(t0)).collect())
        .unwrap_or_default();
    per_app.sort();
    let ctrl_p1 = procstat::read(ctrl.pid()).unwrap_or_default();
    let cluster_p1 = procstat::read(cluster.pid()).unwrap_or_default();
    let load_p1 = procstat::loadavg();
    let requests_p1 = api_requests(&cluster_log);
    eprintln!(
        "mttp: all {} Synced + Healthy in {}",
        cfg.apps,
        fmt_d(all_done)
    );

    // Phase 2: one-app commit + webhook → applied.
    let deps_client = client.clone();
    let mut applied: Vec<Duration> = Vec::new();
    let mut synced: Vec<Duration> = Vec::new();
    let mut hook_times: Vec<Duration> = Vec::new();
    for round in 0..cfg.rounds {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let name = fixture::app_name((round * 397 + 41) % cfg.apps);
        let tag = format!("6.7.{}", round + 1);
        let (before, after) = repo.bump(&name, &tag)?;
        let pushed = Instant::now();
        let payload = serde_json::json!({
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {"html_url": server.url("mttp"), "default_branch": "main"},
            "commits": [{"id": after, "added": [], "removed": [],
                         "modified": [fixture::values_path(&name)]}],
        })
        .to_string();
        let (code, msg) = tokio::task::spawn_blocking(move || {
            http(
                ctrl_addr,
                "POST",
                "/api/webhook",
                &[
                    ("X-GitHub-Event", "push"),
                    ("Content-Type", "application/json"),
                ],
                payload.as_bytes(),
            )
        })
        .await
        .map_err(|e| e.to_string())??;
        if code != 200 {
            return Err(format!("webhook answered {code}: {msg}"));
        }
        hook_times.push(pushed.elapsed());
        let deps: Api<Deployment> = Api::namespaced(deps_client.clone(), &name);
        let want = format!(":{tag}");
        let deadline = pushed + Duration::from_secs(120);
        loop {
            let d = deps.get_opt(&name).await.map_err(|e| e.to_string())?;
            let image = d
                .and_then(|d| serde_json::to_value(d).ok())
                .and_then(|v| {
                    v.pointer("/spec/template/spec/containers/0/image")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            if image.ends_with(&want) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name}: {tag} not applied after 120 s (image {image})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let a = pushed.elapsed();
        applied.push(a);
        loop {
            let st = seen.lock().ok().and_then(|s| s.state.get(&name).cloned());
            if st.is_some_and(|st| st.0 == "Synced" && st.2 == after) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{name}: not Synced at {after} after 120 s"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let s = pushed.elapsed();
        synced.push(s);
        eprintln!(
            "mttp: round {}: {name} → {tag}: webhook answered in {}, applied in {}, Synced in {}",
            round + 1,
            fmt_d(*hook_times.last().unwrap_or(&Duration::ZERO)),
            fmt_d(a),
            fmt_d(s)
        );
    }
    let ctrl_end = procstat::read(ctrl.pid()).unwrap_or_default();
    let cluster_end = procstat::read(cluster.pid()).unwrap_or_default();
    let load_end = procstat::loadavg();
    let requests_end = api_requests(&cluster_log);
    watch.abort();
    applied.sort();
    synced.sort();

    // Report.
    let ok = |b: bool| if b { "met" } else { "NOT met" };
    println!();
    println!(
        "MTTP: {} apps (Deployment, Service, ServiceAccount, Ingress each) from one repo over \
         git smart HTTP, embedded cluster (sim delay {} ms), {} CPUs",
        cfg.apps, cfg.sim_delay_ms, cpus
    );
    println!();
    println!("| measure | value | target |");
    println!("| --- | --- | --- |");
    println!(
        "| create {} Applications | {} | |",
        cfg.apps,
        fmt_d(created)
    );
    println!(
        "| all {} Synced + Healthy (from first create) | {} | < 60 s: {} |",
        cfg.apps,
        fmt_d(all_done),
        ok(all_done < Duration::from_secs(60))
    );
    println!(
        "| per app Synced + Healthy p50 / p90 | {} / {} | |",
        fmt_d(percentile(&per_app, 0.5)),
        fmt_d(percentile(&per_app, 0.9))
    );
    println!(
        "| controller CPU time during initial sync | {} | |",
        fmt_d(ctrl_p1.cpu.saturating_sub(ctrl_start.cpu))
    );
    println!(
        "| cluster CPU time during initial sync | {} | |",
        fmt_d(cluster_p1.cpu.saturating_sub(cluster_start.cpu))
    );
    println!(
        "| API requests during initial sync (all clients; the bench's own: {} creates + 1 watch) | {} | |",
        cfg.apps,
        fmt_requests(&requests_p1, &requests_start)
    );
    println!(
        "| controller peak RSS after initial sync (VmHWM) | {} | < 300 MiB: {} |",
        mib(ctrl_p1.hwm_kib),
        ok(ctrl_p1.hwm_kib < 300 * 1024)
    );
    println!(
        "| controller peak RSS at end (VmHWM) / RSS at end | {} / {} | < 300 MiB: {} |",
        mib(ctrl_end.hwm_kib),
        mib(ctrl_end.rss_kib),
        ok(ctrl_end.hwm_kib < 300 * 1024)
    );
    println!(
        "| cluster peak RSS (VmHWM) | {} | |",
        mib(cluster_end.hwm_kib)
    );
    if !applied.is_empty() {
        println!(
            "| one-app commit + webhook → applied, p50 / max of {} | {} / {} | < 2 s: {} |",
            applied.len(),
            fmt_d(percentile(&applied, 0.5)),
            fmt_d(*applied.last().unwrap_or(&Duration::ZERO)),
            ok(*applied.last().unwrap_or(&Duration::ZERO) < Duration::from_secs(2))
        );
        println!(
            "| one-app commit + webhook → app Synced at the commit, p50 / max | {} / {} | |",
            fmt_d(percentile(&synced, 0.5)),
            fmt_d(*synced.last().unwrap_or(&Duration::ZERO))
        );
        println!(
            "| controller CPU time during {} webhook rounds | {} | |",
            applied.len(),
            fmt_d(ctrl_end.cpu.saturating_sub(ctrl_p1.cpu))
        );
        println!(
            "| cluster CPU time during {} webhook rounds | {} | |",
            applied.len(),
            fmt_d(cluster_end.cpu.saturating_sub(cluster_p1.cpu))
        );
        println!(
            "| API requests during the webhook rounds (incl. the bench's Deployment polling) | {} | |",
            fmt_requests(&requests_end, &requests_p1)
        );
    }
    println!(
        "| load average (1 5 15 min) at start / after initial sync / end | {load_start} / {load_p1} / {load_end} | |"
    );
    println!(
        "| git HTTP requests served | {} | |",
        server.requests.load(std::sync::atomic::Ordering::Relaxed)
    );
    drop(ctrl);
    drop(cluster);
    if cfg.keep {
        let kept = tmp.keep();
        eprintln!("mttp: kept {}", kept.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo test --benches` runs this without `--bench`: nothing to do then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("mttp: a benchmark; run it with `cargo bench -p controller --bench mttp`");
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mttp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mttp: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mttp: {e}");
            ExitCode::FAILURE
        }
    }
}
