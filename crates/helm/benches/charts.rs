//! Benchmark: ferry's chart loading + rendering against Helm v4.2.3's engine, side by side in
//! one run, on a folder of real charts (e.g. the development corpus extracted by
//! `scripts/corpus.sh`).
//!
//! Run: `cargo bench -p helm --bench charts -- CHARTS_DIR [--values-dir DIR] [--filter SUBSTR]
//! [--min-time SECS] [--min-iters N] [--max-iters N] [--ferry-only] [--cold-only]`
//! (`--cold-only`: only ferry's headline cold timing, e.g. to profile it under callgrind).
//!
//! * Every directory of `CHARTS_DIR` holding a `Chart.yaml`, and every `.tgz` in it, is a case
//!   rendered with its default values (release `release-name`, namespace `default`); with
//!   `--values-dir`, a chart with `DIR/<name>.yaml` has a second case with that values file
//!   (release `demo`, namespace `ferry-test`), as the corpus harness does.
//! * ferry, the same work as Helm's side: `Chart::load` + `render_files_owned` (values,
//!   dependencies, schema, engine: the per-file output that Helm's `Chart.render` returns; the
//!   loaded chart is processed in place, as Helm does, not copied first), in this process,
//!   cold: the caches of parsed template sets and compiled template regexes are cleared before
//!   every iteration (Helm parses every time). The headline ratios compare this with Helm.
//! * ferry warm: the same with those caches kept (what a long-running controller pays to
//!   re-render a chart whose templates did not change).
//! * ferry `helm template`, cold: `Chart::load` + `check_installable` + `render_owned` + the stream
//!   (splitting, parsing and sorting the output, which Helm's `Chart.render` does not do); its
//!   CPU time and its ratio to Helm's engine are printed too.
//! * Helm: `benches/helm_engine.py` in the helm-python-sdk venv (`$FERRY_VENV`, default
//!   `~/.cache/ferry/venv`): `Chart.load` + `Chart.render`, in one Python process.
//! * Each case runs once untimed, then repeatedly until both `--min-time` (default 0.5 s) and
//!   `--min-iters` (default 3) are reached, at most `--max-iters` (200). Two ratios per case:
//!   process CPU time per iteration (steady on a shared, loaded machine; Go's CPU time includes
//!   its concurrent garbage collector) and the fastest wall-clock iteration of each side.
//! * Memory: the peak resident set (`VmHWM`) of this process (ferry) and of the Python process
//!   (Helm's engine, with the Python interpreter), and each one's resident set before the first
//!   render.
//! * Allocator: mimalloc (v3, feature `no_thp`), the global allocator of the `ferry` binary
//!   (crates/ferry/src/main.rs), so that the bench measures what users run; keep the two (and
//!   their features in crates/ferry/Cargo.toml and crates/helm/Cargo.toml) the same.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use helm::{Chart, RenderOptions, StreamOptions, Values};

/// The `ferry` binary's allocator (see crates/ferry/src/main.rs), so the bench measures it.
#[global_allocator]
static GLOBAL: alloc_mi::MiMalloc = alloc_mi::MiMalloc;

struct Case {
    name: String,
    chart: PathBuf,
    values_file: Option<PathBuf>,
    release: String,
    namespace: String,
}

#[derive(Clone, Debug, Default)]
struct Timing {
    iters: usize,
    min: f64,
    median: f64,
    cpu: f64,
    error: Option<String>,
}

struct Settings {
    min_time: f64,
    min_iters: usize,
    max_iters: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench -p helm --bench charts -- CHARTS_DIR [--values-dir DIR] \
         [--filter SUBSTR] [--min-time SECS] [--min-iters N] [--max-iters N] [--ferry-only] \
         [--cold-only]"
    );
    std::process::exit(2)
}

/// CPU time of this process in seconds (all threads).
fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` only writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn discover(dir: &Path, values_dir: Option<&Path>, filter: Option<&str>) -> Vec<Case> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("charts: cannot read {}: {e}", dir.display());
            std::process::exit(2)
        }
    };
    entries.sort();
    let mut cases = Vec::new();
    for path in entries {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let name = if path.is_dir() && path.join("Chart.yaml").is_file() {
            file_name.to_string()
        } else if let Some(stem) = file_name.strip_suffix(".tgz") {
            stem.to_string()
        } else {
            continue;
        };
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        cases.push(Case {
            name: format!("{name} [default]"),
            chart: path.clone(),
            values_file: None,
            release: "release-name".into(),
            namespace: "default".into(),
        });
        if let Some(vd) = values_dir {
            let vf = vd.join(format!("{name}.yaml"));
            if vf.is_file() {
                cases.push(Case {
                    name: format!("{name} [values]"),
                    chart: path,
                    values_file: Some(vf),
                    release: "demo".into(),
                    namespace: "ferry-test".into(),
                });
            }
        }
    }
    cases
}

/// What one ferry iteration does.
#[derive(Clone, Copy, PartialEq)]
enum Work {
    /// `Chart::load` + `render_files_owned`: the work of Helm's `Chart.load` + `Chart.render`.
    Engine,
    /// ferry's `helm template`: load, CLI checks, render, stream.
    Template,
}

/// One iteration; returns the error text on failure. Cold: the process-wide caches of parsed
/// templates and compiled regexes are emptied first (Helm parses every time).
fn ferry_once(case: &Case, values: &Values, work: Work, cold: bool) -> Option<String> {
    if cold {
        helm::clear_template_cache();
    }
    let chart = match Chart::load(&case.chart) {
        Ok(c) => c,
        Err(e) => return Some(e.to_string()),
    };
    let opts = RenderOptions {
        release_name: case.release.clone(),
        namespace: case.namespace.clone(),
        ..RenderOptions::default()
    };
    if work == Work::Engine {
        return match helm::render_files_owned(chart, values, &opts) {
            Ok(files) => {
                std::hint::black_box(files);
                None
            }
            Err(e) => Some(e.cli_message()),
        };
    }
    if let Err(e) = helm::check_installable(&chart) {
        return Some(e.cli_message());
    }
    match helm::render_owned(chart, values, &opts) {
        Ok(r) => {
            std::hint::black_box(r.stream(&StreamOptions::default()));
            None
        }
        Err(e) => Some(e.cli_message()),
    }
}

fn bench_ferry(case: &Case, s: &Settings, work: Work, cold: bool) -> Timing {
    let values = match &case.values_file {
        Some(f) => {
            let data = std::fs::read(f).unwrap_or_default();
            match helm::chart::load_values(&data) {
                Ok(v) => v,
                Err(e) => {
                    return Timing {
                        error: Some(format!("{}: {e}", f.display())),
                        ..Timing::default()
                    };
                }
            }
        }
        None => Values::new(),
    };
    let error = ferry_once(case, &values, work, cold);
    let mut walls = Vec::new();
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let min_time = Duration::from_secs_f64(s.min_time);
    while walls.len() < s.max_iters && (walls.len() < s.min_iters || start.elapsed() < min_time) {
        let t0 = Instant::now();
        std::hint::black_box(ferry_once(case, &values, work, cold));
        walls.push(t0.elapsed().as_secs_f64());
    }
    let cpu = (cpu_seconds() - cpu0) / walls.len() as f64;
    walls.sort_by(f64::total_cmp);
    Timing {
        iters: walls.len(),
        min: walls[0],
        median: walls[walls.len() / 2],
        cpu,
        error,
    }
}

struct HelmRun {
    timings: Vec<Timing>,
    baseline_kib: u64,
    peak_kib: u64,
}

fn bench_helm(cases: &[Case], s: &Settings) -> Result<HelmRun, String> {
    let venv = std::env::var_os("FERRY_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferry/venv")))
        .ok_or("set FERRY_VENV to the helm-python-sdk venv")?;
    let python = venv.join("bin/python");
    if !python.is_file() {
        return Err(format!(
            "no Python at {} (set FERRY_VENV to a venv with helm-python-sdk)",
            python.display()
        ));
    }
    let list: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "chart": c.chart,
                "values_file": c.values_file,
                "release": c.release,
                "namespace": c.namespace,
            })
        })
        .collect();
    let list_file =
        std::env::temp_dir().join(format!("ferry-bench-charts-{}.json", std::process::id()));
    std::fs::write(&list_file, serde_json::Value::Array(list).to_string())
        .map_err(|e| format!("{}: {e}", list_file.display()))?;
    let settings = serde_json::json!({
        "min_time": s.min_time, "min_iters": s.min_iters, "max_iters": s.max_iters,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/helm_engine.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&list_file)
        .arg(settings.to_string())
        .stderr(std::process::Stdio::inherit())
        .output();
    let _ = std::fs::remove_file(&list_file);
    let out = out.map_err(|e| format!("running {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("{script} failed: {}", out.status));
    }
    let mut run = HelmRun {
        timings: Vec::new(),
        baseline_kib: 0,
        peak_kib: 0,
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("bad line from {script}: {e}"))?;
        if let Some(peak) = v.get("peak_rss_kib").and_then(|p| p.as_u64()) {
            run.peak_kib = peak;
            run.baseline_kib = v["baseline_rss_kib"].as_u64().unwrap_or(0);
            continue;
        }
        run.timings.push(Timing {
            iters: v["iters"].as_u64().unwrap_or(0) as usize,
            min: v["min"].as_f64().unwrap_or(0.0),
            median: v["median"].as_f64().unwrap_or(0.0),
            cpu: v["cpu"].as_f64().unwrap_or(0.0),
            error: v["error"].as_str().map(str::to_string),
        });
    }
    if run.timings.len() != cases.len() {
        return Err(format!(
            "{script} reported {} cases of {}",
            run.timings.len(),
            cases.len()
        ));
    }
    Ok(run)
}

fn ms(s: f64) -> String {
    format!("{:.2}", s * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir = None;
    let mut values_dir = None;
    let mut filter = None;
    let mut ferry_only = false;
    let mut cold_only = false;
    let mut s = Settings {
        min_time: 0.5,
        min_iters: 3,
        max_iters: 200,
    };
    while let Some(a) = args.next() {
        let mut val = |what: &str| args.next().unwrap_or_else(|| usage_for(what));
        match a.as_str() {
            "--values-dir" => values_dir = Some(PathBuf::from(val("--values-dir"))),
            "--filter" => filter = Some(val("--filter")),
            "--min-time" => s.min_time = val("--min-time").parse().unwrap_or_else(|_| usage()),
            "--min-iters" => s.min_iters = val("--min-iters").parse().unwrap_or_else(|_| usage()),
            "--max-iters" => s.max_iters = val("--max-iters").parse().unwrap_or_else(|_| usage()),
            "--ferry-only" => ferry_only = true,
            // For profiling the headline figure alone (e.g. under callgrind): the warm and
            // `helm template` columns then repeat the cold one.
            "--cold-only" => cold_only = true,
            "-h" | "--help" => usage(),
            _ if a.starts_with('-') => usage(),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => usage(),
        }
    }
    s.min_iters = s.min_iters.max(1);
    s.max_iters = s.max_iters.max(s.min_iters);
    let Some(dir) = dir else { usage() };
    let cases = discover(&dir, values_dir.as_deref(), filter.as_deref());
    if cases.is_empty() {
        eprintln!("charts: no charts under {}", dir.display());
        std::process::exit(2);
    }

    let ferry_baseline = vm_kib("VmRSS");
    let mut ferry = Vec::new();
    let mut warm = Vec::new();
    let mut full = Vec::new();
    for c in &cases {
        let t = bench_ferry(c, &s, Work::Engine, true);
        let (w, f) = if cold_only {
            (t.clone(), t.clone())
        } else {
            (
                bench_ferry(c, &s, Work::Engine, false),
                bench_ferry(c, &s, Work::Template, true),
            )
        };
        eprintln!(
            "ferry {:<48} {:>9} ms CPU cold, {:>9} ms warm, {:>9} ms helm template (cold)",
            c.name,
            ms(t.cpu),
            ms(w.cpu),
            ms(f.cpu)
        );
        ferry.push(t);
        warm.push(w);
        full.push(f);
    }
    let ferry_peak = vm_kib("VmHWM");

    let helm = if ferry_only {
        None
    } else {
        match bench_helm(&cases, &s) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("charts: Helm's engine: {e}");
                std::process::exit(1)
            }
        }
    };

    println!(
        "| case | ferry min ms | ferry median ms | ferry CPU ms | Helm min ms | Helm median ms | Helm CPU ms | CPU ratio (Helm/ferry) | wall ratio (min) | ferry warm CPU ms | warm CPU ratio | ferry template CPU ms | template CPU ratio | runs | note |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut full_ratios = Vec::new();
    let mut full_cpus = Vec::new();
    let mut warm_ratios = Vec::new();
    let mut warm_cpus = Vec::new();
    let mut ratios = Vec::new();
    let mut wall_ratios = Vec::new();
    let mut slowest_wall: Option<(f64, &str)> = None;
    let mut ferry_mins = Vec::new();
    let mut helm_mins = Vec::new();
    let mut ferry_cpus = Vec::new();
    let mut helm_cpus = Vec::new();
    let mut slowest: Option<(f64, &str)> = None;
    for (i, c) in cases.iter().enumerate() {
        let f = &ferry[i];
        ferry_mins.push(f.min);
        ferry_cpus.push(f.cpu);
        let w = &warm[i];
        warm_cpus.push(w.cpu);
        let mut runs = f.iters.to_string();
        let mut warm_ratio = "-".to_string();
        let full_t = &full[i];
        full_cpus.push(full_t.cpu);
        let mut full_ratio = "-".to_string();
        let (hmin, hmed, hcpu, ratio, wall_ratio, note) = match &helm {
            Some(h) => {
                let t = &h.timings[i];
                runs = format!("{}/{}", f.iters, t.iters);
                helm_mins.push(t.min);
                helm_cpus.push(t.cpu);
                let ratio = t.cpu / f.cpu;
                ratios.push(ratio);
                if slowest.is_none_or(|(r, _)| ratio < r) {
                    slowest = Some((ratio, &c.name));
                }
                warm_ratios.push(t.cpu / w.cpu);
                warm_ratio = format!("{:.1}x", t.cpu / w.cpu);
                full_ratios.push(t.cpu / full_t.cpu);
                full_ratio = format!("{:.1}x", t.cpu / full_t.cpu);
                let wall_ratio = t.min / f.min;
                wall_ratios.push(wall_ratio);
                if slowest_wall.is_none_or(|(r, _)| wall_ratio < r) {
                    slowest_wall = Some((wall_ratio, &c.name));
                }
                let note = match (&f.error, &t.error) {
                    (None, None) => String::new(),
                    (Some(_), Some(_)) => "both fail".to_string(),
                    (Some(e), None) => format!("only ferry fails: {}", first_line(e)),
                    (None, Some(e)) => format!("only Helm fails: {}", first_line(e)),
                };
                (
                    ms(t.min),
                    ms(t.median),
                    ms(t.cpu),
                    format!("{ratio:.1}x"),
                    format!("{wall_ratio:.1}x"),
                    note,
                )
            }
            None => (
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                f.error.as_deref().map(first_line).unwrap_or_default(),
            ),
        };
        println!(
            "| {} | {} | {} | {} | {hmin} | {hmed} | {hcpu} | {ratio} | {wall_ratio} | {} | {warm_ratio} | {} | {full_ratio} | {runs} | {note} |",
            c.name,
            ms(f.min),
            ms(f.median),
            ms(f.cpu),
            ms(w.cpu),
            ms(full_t.cpu),
        );
    }
    println!();
    println!("cases: {}", cases.len());
    let helm_part = |v: &mut Vec<f64>| {
        if helm.is_some() {
            format!(", Helm {} ms", ms(median(v)))
        } else {
            String::new()
        }
    };
    println!(
        "median case CPU time: ferry {} ms{}",
        ms(median(&mut ferry_cpus)),
        helm_part(&mut helm_cpus)
    );
    println!(
        "median case CPU time, warm (parsed templates cached): ferry {} ms",
        ms(median(&mut warm_cpus))
    );
    println!(
        "median case CPU time, ferry's whole `helm template` (load, checks, render, stream; cold): ferry {} ms",
        ms(median(&mut full_cpus))
    );
    if !full_ratios.is_empty() {
        println!(
            "median ratio (Helm's engine / ferry's whole `helm template`, cold), CPU time: {:.1}x",
            median(&mut full_ratios)
        );
    }
    if !warm_ratios.is_empty() {
        println!(
            "median ratio (Helm/ferry warm), CPU time: {:.1}x",
            median(&mut warm_ratios)
        );
    }
    println!(
        "median case fastest wall time: ferry {} ms{}",
        ms(median(&mut ferry_mins)),
        helm_part(&mut helm_mins)
    );
    if let Some((r, name)) = slowest {
        println!(
            "median ratio (Helm/ferry), CPU time: {:.1}x; lowest: {r:.1}x ({name})",
            median(&mut ratios)
        );
    }
    if let Some((r, name)) = slowest_wall {
        println!(
            "median ratio (Helm/ferry), fastest wall time: {:.1}x; lowest: {r:.1}x ({name})",
            median(&mut wall_ratios)
        );
    }
    println!(
        "peak memory: ferry {} (before rendering {})",
        mib(ferry_peak),
        mib(ferry_baseline)
    );
    if let Some(h) = &helm {
        println!(
            "peak memory: Helm's engine in Python {} (before rendering {})",
            mib(h.peak_kib),
            mib(h.baseline_kib)
        );
    }
}

fn usage_for(what: &str) -> ! {
    eprintln!("charts: {what} needs a value");
    usage()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(80).collect()
}
