//! ferry's embedded Kubernetes-API-compatible cluster.
//!
//! A single-process API server speaking the Kubernetes REST API over HTTPS (generated CA,
//! bearer token) with durable SQLite storage, a global monotonic `resourceVersion`, watches
//! with resumption, discovery, OpenAPI v3 generated from `k8s-openapi`'s types (and the
//! OpenAPI v2 document derived from it, JSON only), patches (JSON, merge, strategic,
//! server-side apply), CRDs (conversion strategy `None` between served versions; `Webhook`
//! reported as unavailable), garbage collection and simulated
//! workload controllers (in the spirit of kwok) so that real clients — `kubectl`, Helm, kube-rs —
//! can be tested against it on a machine with nothing else installed.
//!
//! Typed clients' protobuf request bodies are decoded for every built-in kind (a field table
//! generated from the `k8s-pb` crate); responses are always JSON. The simulated controllers
//! record Events (core/v1, also served as events.k8s.io/v1) that expire after
//! [`Config::event_ttl`]; paged lists are snapshots (expiring after
//! [`Config::list_snapshot_ttl`]); `kubectl create token` issues service-account tokens.
//!
//! It is not a production Kubernetes: there is no scheduler, kubelet or container runtime;
//! Pods are simulated, and authorization is a single admin token.
//!
//! ```no_run
//! # async fn demo() -> Result<(), apiserver::Error> {
//! let handle = apiserver::Server::start(apiserver::Config::new("/tmp/ferry-cluster")).await?;
//! handle.write_kubeconfig(std::path::Path::new("/tmp/ferry-cluster/kubeconfig"))?;
//! println!("listening on {}", handle.addr());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
mod controllers;
mod convert;
mod defaults;
pub mod discovery;
pub mod error;
pub mod openapi;
pub mod patch;
mod protobuf;
pub mod registry;
pub mod schema;
pub mod selector;
mod server;
pub mod ssa;
pub mod store;
mod table;
pub mod tls;
mod tokens;

pub use server::{Config, Error, Server, ServerHandle};

/// The Kubernetes version this server reports (and whose schemas it serves).
pub const VERSION: &str = "v1.37.0+ferry";
