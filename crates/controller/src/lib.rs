//! # controller: ferry's Application controller
//!
//! The GitOps controller: it watches `argoproj.io/v1alpha1` Applications (and the objects they
//! manage), renders their sources from git, compares and syncs them as Argo CD does. It is not
//! a renderer (that is the `helm` crate) nor a diff/sync planner (the `engine` crate).
//!
//! The **pure model**, with no IO and no Kubernetes client:
//!
//! * [`application`]: serde types for the Application (`spec`, `operation`, `status`) with
//!   Argo CD's field names; [`application::Application::from_value`] reads one and names the
//!   offending field on type errors; [`application::Application::spec_conditions`] reports spec
//!   errors (`InvalidSpecError`) and every field ferry does not know or honour (never silently
//!   ignored).
//! * [`valuefiles`]: Helm `valueFiles` resolution (source-relative, `/`-absolute, `$ref/…`,
//!   URLs, helm-secrets URLs for the sops crate, globs).
//! * [`helmargs`]: what Argo CD passes to `helm template` (release name, namespace, value
//!   files, inline values, `--set` escaping, build environment).
//! * [`directory`]: which files of a Directory source are read (recurse, include/exclude).
//! * [`crd`]: the `applications.argoproj.io` CRD ferry installs when absent.
//! * [`webhook`]: GitHub/GitLab push payloads and which apps a push refreshes
//!   (`manifest-generate-paths`).
//! * [`compare`]: `status.resources`, `status.sync`, `status.health` and warnings from the
//!   engine's reconciliation, diffs and health.
//! * [`operation`]: `status.operationState` / `syncResult` from the engine's sync run.
//! * [`autosync`]: the auto-sync decision (one attempt per revision, self-heal backoff,
//!   refusing to prune everything).
//! * [`project`]: AppProjects (source repos, destinations, resource white/blacklists) with
//!   Argo CD's matching and condition texts; the implicit `default` project.
//! * [`resume`]: the render key and live fingerprint that let a restarted controller trust an
//!   app's recorded comparison without rendering or syncing it again.
//!
//! On top of the model, the IO part:
//!
//! * [`source`]: manifest generation from repository files read at a commit (Helm charts with
//!   `file://` dependencies, value files, helm-secrets decryption in memory; directories).
//! * [`kube_io`]: cluster access (kind discovery, list, server-side apply with field manager
//!   `ferry`, delete) and a Kubernetes [`sops::valuefile::SecretFetcher`].
//! * [`reconciler`]: [`run`] watches Applications (installing the CRDs when absent), queues
//!   refreshes (periodic with jitter, immediate on change or `argocd.argoproj.io/refresh`),
//!   and reconciles: git → render → compare → (auto-)sync (rollbacks, retries) → `status`.
//! * [`watch`]: watches on the managed kinds; an event on a tracked object queues a quick
//!   comparison of its app (self-heal within seconds), ferry's own writes excepted.
//! * [`leader`]: leader election with a `coordination.k8s.io/v1` Lease.
//! * [`clusters`]: destination clusters from Argo CD cluster Secrets.
//! * [`repocreds`]: git credentials from Argo CD repository Secrets (`repository`, `repo-creds`).
//!
//! Health, diff and sync planning live in the `engine` crate.
//!
//! ```
//! use controller::application::Application;
//! use serde_json::json;
//!
//! let app = Application::from_value(&json!({
//!     "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
//!     "metadata": {"name": "web", "namespace": "argocd"},
//!     "spec": {
//!         "project": "default",
//!         "source": {"repoURL": "https://git.example.com/web.git", "path": "chart",
//!                    "kustomize": {}},
//!         "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
//!         "syncPolicy": {"automated": {"prune": true}}
//!     }
//! })).unwrap();
//! assert!(app.auto_sync().is_some_and(|a| a.prune));
//! assert_eq!(app.unsupported(), vec!["spec.source.kustomize: not supported by ferry, ignored"]);
//! ```

pub mod application;
pub mod autosync;
pub mod compare;
pub mod crd;
pub mod directory;
pub mod helmargs;
pub mod operation;
pub mod valuefiles;
pub mod webhook;

pub mod project;
pub mod resume;

pub mod bootstrap;
pub mod clusters;
pub mod http;
pub mod kube_io;
pub mod leader;
pub mod reconciler;
pub mod repocreds;
pub mod source;
pub mod watch;

pub use reconciler::{Options, Refresher, Stats, run};
