//! Throughput and latency of the embedded cluster, through kube-rs over HTTPS:
//! creates/s, updates/s (with p50/p99 request latency) and watch fan-out latency from a write
//! to its delivery on each of 100 concurrent watchers.
//!
//! `cargo bench -p apiserver --bench throughput` (env `FERRY_BENCH_N` = number of writes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, total: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    let n = lat.len();
    println!(
        "{name:<28} {n:>6} ops in {:>7.2}s = {:>8.1} ops/s   p50 {:>8.2} ms   p99 {:>8.2} ms",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
}

async fn client(kubeconfig: &std::path::Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

async fn run_parallel<F, Fut>(n: usize, concurrency: usize, f: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let f = f.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                f(i).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    (start.elapsed(), all)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let n: usize = std::env::var("FERRY_BENCH_N")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000);
        let dir = tempfile::tempdir().expect("tempdir");
        let handle = apiserver::Server::start(apiserver::Config::new(dir.path().join("data")))
            .await
            .expect("start");
        let kc = dir.path().join("kubeconfig");
        handle.write_kubeconfig(&kc).expect("kubeconfig");
        let c = client(&kc).await;
        let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
        println!(
            "ferry embedded cluster benchmark ({} writes, durable: SQLite WAL synchronous=FULL)",
            n
        );

        for conc in [1usize, 16] {
            let a = api.clone();
            let (t, lat) = run_parallel(n, conc, move |i| {
                let a = a.clone();
                async move {
                    let mut cm = ConfigMap::default();
                    cm.metadata.name = Some(format!("c{conc}-{i}"));
                    cm.data = Some([("v".to_string(), "0".to_string())].into());
                    a.create(&PostParams::default(), &cm).await.expect("create");
                }
            })
            .await;
            report(&format!("create (concurrency {conc})"), t, lat);
            let a = api.clone();
            let (t, lat) = run_parallel(n, conc, move |i| {
                let a = a.clone();
                async move {
                    let p = serde_json::json!({"data": {"v": i.to_string()}});
                    a.patch(
                        &format!("c{conc}-{i}"),
                        &PatchParams::default(),
                        &Patch::Merge(&p),
                    )
                    .await
                    .expect("update");
                }
            })
            .await;
            report(&format!("update (concurrency {conc})"), t, lat);
        }

        // Watch fan-out: 100 watchers, each records when every event arrives.
        let watchers = 100;
        let events = (n / 10).max(50);
        let start_rv = api
            .list(&Default::default())
            .await
            .expect("list")
            .metadata
            .resource_version
            .unwrap_or_default();
        let sent: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> =
            Arc::default();
        let mut tasks = Vec::new();
        for _ in 0..watchers {
            let api = api.clone();
            let rv = start_rv.clone();
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = api
                    .watch(&WatchParams::default().labels("fanout=1").timeout(120), &rv)
                    .await
                    .expect("watch")
                    .boxed();
                let mut lat = Vec::new();
                while lat.len() < events {
                    match s.next().await {
                        Some(Ok(WatchEvent::Added(o))) => {
                            let name = o.metadata.name.unwrap_or_default();
                            let t0 = sent.lock().unwrap().get(&name).copied();
                            if let Some(t0) = t0 {
                                lat.push(t0.elapsed());
                            }
                        }
                        Some(Ok(_)) => {}
                        other => panic!("watch ended: {other:?}"),
                    }
                }
                lat
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = Instant::now();
        for i in 0..events {
            let mut cm = ConfigMap::default();
            let name = format!("fan-{i}");
            cm.metadata.name = Some(name.clone());
            cm.metadata.labels = Some([("fanout".to_string(), "1".to_string())].into());
            sent.lock().unwrap().insert(name, Instant::now());
            api.create(&PostParams::default(), &cm)
                .await
                .expect("create");
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("watcher"));
        }
        let total = t.elapsed();
        println!(
            "watch fan-out: {watchers} watchers x {events} events = {} deliveries",
            all.len()
        );
        report("watch delivery latency", total, all);
        handle.shutdown().await;
    });
}
