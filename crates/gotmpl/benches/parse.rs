//! Benchmark: parsing the templates of real charts (cold, as Helm parses every file at each
//! render).
//!
//! Run: `cargo bench -p gotmpl --bench parse -- DIR [PASSES]`. Every file under a `templates/`
//! directory below `DIR` is read; the files of each top-level directory of `DIR` (a chart,
//! subcharts included) are parsed into one fresh [`Set`] per pass, as Helm does. Functions are
//! the ones the templates call (found by parsing: each `function "x" not defined` adds `x`,
//! with a dummy body) plus filler names, so the function map has Sprig's size. Files that fail
//! to parse for another reason are counted and left out.
//!
//! Prints the best pass's CPU time, MB/s, ns per template byte and the allocations of a pass. `GOTMPL_PARSE_DIGEST=1`
//! also prints a digest of every parsed tree's Go `String()` form (to check that a change of
//! the parser leaves trees as they were). For instruction counts, run the bench binary with `PASSES` = 1
//! under `valgrind --tool=callgrind --toggle-collect='*parse_all*'`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gotmpl::{FuncMap, Function, Set, Signature, Type, Value};

/// The system allocator, counting allocations (reported per pass).
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn cpu_time_ns() -> u128 {
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: clock_gettime writes into the struct we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn walk(dir: &Path, in_templates: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            let t = in_templates || p.file_name().is_some_and(|n| n == "templates");
            walk(&p, t, out);
        } else if in_templates {
            out.push(p);
        }
    }
}

fn dummy() -> Function {
    Function::plain(Signature::variadic(&[], Type::Any), |_| Ok(Value::Nil))
}

/// One pass: every chart parsed into a fresh set, then dropped (`valgrind --tool=callgrind
/// --toggle-collect='*parse_all*'` counts this alone).
#[inline(never)]
fn parse_all(charts: &[Vec<(String, String)>], funcs: &std::sync::Arc<FuncMap>) {
    for chart in charts {
        let mut set = Set::with_funcs("gotpl", funcs.clone());
        for (name, text) in chart {
            set.parse(name, text).expect("parsed before");
        }
        std::hint::black_box(&set);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let root = PathBuf::from(args.first().map_or("/work/corpus", |s| s.as_str()));
    let passes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);

    // Charts: top-level directories, each with its files (name relative to DIR, text).
    let mut charts: Vec<Vec<(String, String)>> = Vec::new();
    let mut tops: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    tops.sort();
    for top in tops {
        let mut files = Vec::new();
        walk(&top, false, &mut files);
        let chart: Vec<(String, String)> = files
            .iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(p).ok()?;
                let name = p.strip_prefix(&root).unwrap_or(p).display().to_string();
                Some((name, text))
            })
            .collect();
        if !chart.is_empty() {
            charts.push(chart);
        }
    }

    // Function discovery and the files that parse.
    let mut funcs = FuncMap::default();
    for i in 0..200 {
        funcs.insert(format!("filler{i}"), dummy());
    }
    let mut failed = 0usize;
    let mut errors: Vec<String> = Vec::new();
    for chart in &mut charts {
        chart.retain(|(name, text)| {
            loop {
                let mut set = Set::new("gotpl", funcs.clone());
                match set.parse(name, text) {
                    Ok(()) => return true,
                    Err(e) => {
                        let msg = e.to_string();
                        if let Some(f) = msg
                            .split("function \"")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .filter(|_| msg.ends_with("not defined"))
                            && !funcs.contains_key(f)
                        {
                            funcs.insert(f.to_string(), dummy());
                            continue;
                        }
                        failed += 1;
                        errors.push(msg);
                        return false;
                    }
                }
            }
        });
    }
    let funcs = std::sync::Arc::new(funcs);
    let bytes: usize = charts.iter().flatten().map(|(_, t)| t.len()).sum();
    let files: usize = charts.iter().map(Vec::len).sum();

    let mut best = u128::MAX;
    let mut allocs = 0;
    for _ in 0..passes {
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let c0 = cpu_time_ns();
        parse_all(&charts, &funcs);
        best = best.min(cpu_time_ns() - c0);
        allocs = ALLOCS.load(Ordering::Relaxed) - a0;
    }
    println!(
        "{} charts, {files} files, {bytes} bytes ({failed} files left out: parse errors), {} functions",
        charts.len(),
        funcs.len()
    );
    if passes > 0 {
        println!(
            "parse: best of {passes} passes: cpu {:.2} ms, {:.1} MB/s, {:.2} ns/byte, {allocs} allocations (and reallocations) per pass",
            best as f64 / 1e6,
            bytes as f64 / (best as f64 / 1e9) / 1e6,
            best as f64 / bytes as f64
        );
    }

    if std::env::var_os("GOTMPL_PARSE_DIGEST").is_some() {
        let mut all: BTreeMap<String, String> = BTreeMap::new();
        for chart in &charts {
            let mut set = Set::with_funcs("gotpl", funcs.clone());
            for (name, text) in chart {
                set.parse(name, text).expect("parsed before");
            }
            for n in set.names() {
                let t = set.tree(n).expect("named tree");
                let s = t.to_string();
                all.insert(format!("{}\0{n}", chart[0].0), s);
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        all.hash(&mut h);
        errors.hash(&mut h);
        println!("trees: {}, digest {:016x}", all.len(), h.finish());
    }
}
