//! HTTPS listener, configuration and the handle returned to embedders.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::State;
use crate::tls::Credentials;

/// Server start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Credentials could not be created or loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Binding the listener failed.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Other I/O.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory for the database and credentials.
    pub data_dir: PathBuf,
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Delay before simulated controllers report progress (e.g. Pods becoming ready).
    pub sim_delay: Duration,
    /// Number of simulated nodes.
    pub nodes: usize,
    /// Events kept for watch resumption.
    pub history: usize,
    /// How long core/v1 Events live after their last occurrence (kube-apiserver's
    /// `--event-ttl`, default one hour).
    pub event_ttl: Duration,
    /// How long the snapshot behind a list `continue` token is kept (etcd's compaction
    /// interval upstream, 5 minutes); older tokens get `410 Expired`.
    pub list_snapshot_ttl: Duration,
}

impl Config {
    /// Defaults: listen on `127.0.0.1:0`, 300 ms simulation delay, one node.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            sim_delay: Duration::from_millis(300),
            nodes: 1,
            history: crate::store::DEFAULT_HISTORY,
            event_ttl: Duration::from_secs(3600),
            list_snapshot_ttl: Duration::from_secs(300),
        }
    }
}

/// The embedded API server.
pub struct Server;

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    creds: Credentials,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Opens storage, loads or creates credentials, binds and starts serving.
    pub async fn start(config: Config) -> Result<ServerHandle, Error> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let creds = Credentials::load_or_create(&config.data_dir)?;
        let tls = creds.server_config()?;
        let store = crate::store::Store::open_with_history(
            &config.data_dir.join("cluster.db"),
            config.history,
        )?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let state = State::new(
            store,
            creds.token.clone(),
            creds.ca_pem.clone(),
            addr,
            config.clone(),
        )?;
        let (stop, stop_rx) = watch::channel(false);
        crate::controllers::spawn(state.clone(), stop_rx.clone());
        let task = tokio::spawn(accept_loop(
            listener,
            tokio_rustls::TlsAcceptor::from(tls),
            state.clone(),
            stop_rx,
        ));
        tracing::info!(%addr, "ferry cluster listening");
        Ok(ServerHandle {
            addr,
            creds,
            state,
            stop,
            task,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = state.clone();
                let mut stop = stop.clone();
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(crate::api::handle(state, req).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

impl ServerHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
    /// PEM of the cluster CA.
    pub fn ca_pem(&self) -> &str {
        &self.creds.ca_pem
    }
    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.creds.token
    }
    /// A kubeconfig document for this server.
    pub fn kubeconfig(&self) -> String {
        crate::tls::kubeconfig(&self.url(), &self.creds, "default")
    }
    /// Writes the kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        Ok(crate::tls::write_kubeconfig(
            path,
            &self.url(),
            &self.creds,
        )?)
    }
    /// The current global resourceVersion.
    pub fn revision(&self) -> u64 {
        self.state.store.revision()
    }
    /// Stops serving and waits for the listener to close.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
    /// Waits until the server stops (it only stops through [`ServerHandle::shutdown`]).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
