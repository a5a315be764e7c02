//! # engine: the pure core of ferry's GitOps controller
//!
//! Everything here is a function of Kubernetes objects held as [`serde_json::Value`]; there is
//! no IO, no clock and no cluster client. The controller crate feeds it rendered (desired) and
//! live objects and acts on the answers. The behaviour is ported from Argo CD's gitops-engine:
//!
//! * [`health`]: per resource health (`Healthy`, `Progressing`, `Degraded`, `Suspended`,
//!   `Missing`, `Unknown`, with Argo CD's messages) and aggregation into the app's health.
//! * [`diff`]: normalisation of live vs desired (server-populated fields, defaults),
//!   `ignoreDifferences`, comparison of a server-side-apply dry run with live, and a unified
//!   YAML diff for `ferry app diff`.
//! * [`sync`]: resource tracking ([`sync::tracking`]), reconciliation, prune candidates and
//!   the ordered task plan ([`sync::plan`]), phases, waves and hooks ([`sync::hooks`]), sync
//!   options ([`sync::options`]), resource/app sync status ([`sync::status`]), hook and wave
//!   progress ([`sync::progress`]), the wave-by-wave operation driver ([`sync::run`]),
//!   cascading deletion ([`sync::deletion`]) and the
//!   retry/self-heal backoff ([`sync::retry`]).
//! * [`yaml`]: a small deterministic YAML writer for JSON values (sorted keys, kubectl style).
//!
//! Start with [`sync::plan::reconcile`] (pair desired and live objects), then
//! [`diff::diff_server_side`] or [`diff::diff_desired_fields`] per pair, [`sync::status`] for
//! the sync status, [`sync::plan::plan_sync`] for what to apply and prune, and
//! [`sync::run::SyncRun`] to drive the operation, and [`health::app_health`] for the app.
//!
//! Not here: applying, watching, rendering, git. Those live in the controller and its IO
//! crates.
//!
//! Architecture invariant: nothing is pruned when a render failed — prune candidates only
//! come from [`sync::plan::Rendered`], constructible only from a successful render.
//!
//! ```
//! use engine::health::{resource_health, HealthStatusCode};
//! use serde_json::json;
//!
//! let deploy = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "generation": 2},
//!     "spec": {"replicas": 3},
//!     "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
//!                "availableReplicas": 1}
//! });
//! let h = resource_health(&deploy).unwrap();
//! assert_eq!(h.status, HealthStatusCode::Progressing);
//! assert_eq!(h.message, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...");
//! ```

pub mod diff;
pub mod health;
pub mod object;
pub mod sync;
pub mod yaml;

pub use object::ResourceKey;
