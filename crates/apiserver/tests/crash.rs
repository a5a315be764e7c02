//! Crash safety: the server process is killed with SIGKILL in the middle of a stream of
//! writes; after a restart every acknowledged write is present and watches resume from a
//! pre-crash resourceVersion.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};

/// Entry point of the child process (run only through `spawn_server`).
#[test]
#[ignore = "child process entry point for crash_safety"]
fn child_server() {
    let dir = std::env::var("FERRY_CRASH_DIR").expect("FERRY_CRASH_DIR");
    let port: u16 = std::env::var("FERRY_CRASH_PORT")
        .expect("port")
        .parse()
        .expect("port number");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let mut cfg = apiserver::Config::new(std::path::Path::new(&dir).join("data"));
        cfg.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let handle = apiserver::Server::start(cfg).await.expect("start");
        handle
            .write_kubeconfig(&std::path::Path::new(&dir).join("kubeconfig"))
            .expect("kubeconfig");
        println!("FERRY-READY");
        handle.wait().await;
    });
}

fn spawn_server(dir: &std::path::Path, port: u16) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FERRY_CRASH_DIR", dir)
        .env("FERRY_CRASH_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("FERRY-READY") => break,
            Some(Ok(_)) => continue,
            other => panic!("child server did not start: {other:?}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    let client = common::kube_client(&dir.path().join("kubeconfig")).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");

    // A stream of writes from 4 concurrent writers; remember what was acknowledged.
    let acked: Arc<Mutex<BTreeMap<String, (String, u64)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let api = api.clone();
        let acked = acked.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let name = format!("w{w}-{i}");
                let mut cm = ConfigMap::default();
                cm.metadata.name = Some(name.clone());
                cm.data = Some([("value".to_string(), format!("{w}:{i}"))].into());
                match api.create(&PostParams::default(), &cm).await {
                    Ok(created) => {
                        let rv: u64 = created
                            .metadata
                            .resource_version
                            .as_deref()
                            .unwrap_or("0")
                            .parse()
                            .unwrap_or(0);
                        acked.lock().unwrap().insert(name, (format!("{w}:{i}"), rv));
                    }
                    Err(_) => break,
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("SIGKILL the server");
    child.wait().expect("reap");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "too few writes before the kill: {}",
        acked.len()
    );
    let max_rv = acked.values().map(|(_, rv)| *rv).max().unwrap_or(0);
    let mid_rv = acked.values().map(|(_, rv)| *rv).min().unwrap_or(0);

    // Restart on the same directory and port.
    let mut child = spawn_server(dir.path(), port);
    let client = common::kube_client(&dir.path().join("kubeconfig")).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let list = api
        .list(&Default::default())
        .await
        .expect("list after restart");
    let list_rv: u64 = list
        .metadata
        .resource_version
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap();
    assert!(
        list_rv >= max_rv,
        "revision went backwards: {list_rv} < {max_rv}"
    );
    let present: BTreeMap<String, String> = list
        .items
        .iter()
        .map(|c| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                c.data
                    .as_ref()
                    .and_then(|d| d.get("value").cloned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (name, (value, _)) in &acked {
        assert_eq!(
            present.get(name),
            Some(value),
            "acknowledged write {name} lost after SIGKILL"
        );
    }

    // A watch from a pre-crash resourceVersion resumes: it replays later changes, then sees new ones.
    let mut stream = api
        .watch(&WatchParams::default().timeout(20), &mid_rv.to_string())
        .await
        .expect("watch")
        .boxed();
    let mut replayed = 0;
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("after-restart".into());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create after restart");
    let mut saw_new = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("watch stalled")
    {
        match ev.expect("watch event") {
            WatchEvent::Added(c) if c.metadata.name.as_deref() == Some("after-restart") => {
                saw_new = true;
                break;
            }
            WatchEvent::Added(_) => replayed += 1,
            WatchEvent::Error(e) => panic!("watch error after restart: {e:?}"),
            _ => {}
        }
    }
    assert!(saw_new, "watch did not deliver the new event");
    let expected = acked.values().filter(|(_, rv)| *rv > mid_rv).count();
    assert!(
        replayed >= expected,
        "watch from {mid_rv} replayed {replayed} creations, expected at least {expected}"
    );
    eprintln!(
        "{} acknowledged writes survived SIGKILL; watch replayed {replayed}",
        acked.len()
    );
    child.kill().expect("kill");
    child.wait().expect("reap");
}
