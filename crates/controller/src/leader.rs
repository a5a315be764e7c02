//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection`
//! does it, so that several `ferry controller` replicas can run and only one reconciles.
//!
//! The candidate creates or takes over the Lease when it is free or expired and renews it every
//! `retry_period`; the leader gives up (and the controller stops) when it could not renew
//! within `renew_deadline`. Expiry is judged, as in client-go, by the candidate's own clock: a
//! Lease whose record has not changed for `lease_duration` since this candidate first saw it is
//! expired, whatever the clocks of the other replicas say. Optimistic concurrency
//! (`resourceVersion` on update) makes sure at most one candidate wins a race.
//!
//! **Readiness of a standby.** As with kube-controller-manager and controller-runtime managers,
//! a replica that is not the leader is *live and ready*: it reaches the API server and stands
//! by to take over within one lease duration, and ferry's HTTP endpoint on a standby still
//! serves webhooks (they set the refresh annotation through the API server, which the leader
//! acts on). Reporting standbys as not ready would keep them out of their Service and block
//! rolling updates of a multi-replica Deployment for nothing. [`LeaderStatus`] tells the
//! endpoint what to report: ready while [`LeaderState::Standby`] or [`LeaderState::Leader`];
//! not ready before the first answer of the API server, when it stops answering, or once the
//! Lease is lost (the controller then stops and the process exits to be restarted).
//!
//! ```
//! use controller::leader::LeaderElection;
//! let le = LeaderElection::new("argocd", "replica-a");
//! assert_eq!(le.lease_name, "ferry-controller");
//! assert_eq!(le.lease_duration.as_secs(), 15);
//! ```

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Default Lease name.
pub const LEASE_NAME: &str = "ferry-controller";

/// Where a replica stands in the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderState {
    /// No answer from the API server yet.
    Starting,
    /// Another replica holds the Lease; this one is ready to take over.
    Standby,
    /// This replica holds the Lease and reconciles.
    Leader,
    /// The API server stopped answering the election (cannot take over or renew).
    Unreachable,
    /// Leadership was lost or released; the controller stops.
    Stopped,
}

impl LeaderState {
    /// Whether a replica in this state reports ready (`/readyz`).
    pub fn is_ready(self) -> bool {
        matches!(self, LeaderState::Standby | LeaderState::Leader)
    }

    /// `starting`, `standby`, `leader`, `unreachable`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaderState::Starting => "starting",
            LeaderState::Standby => "standby",
            LeaderState::Leader => "leader",
            LeaderState::Unreachable => "unreachable",
            LeaderState::Stopped => "stopped",
        }
    }

    fn from_u8(v: u8) -> LeaderState {
        match v {
            1 => LeaderState::Standby,
            2 => LeaderState::Leader,
            3 => LeaderState::Unreachable,
            4 => LeaderState::Stopped,
            _ => LeaderState::Starting,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            LeaderState::Starting => 0,
            LeaderState::Standby => 1,
            LeaderState::Leader => 2,
            LeaderState::Unreachable => 3,
            LeaderState::Stopped => 4,
        }
    }
}

/// A shared view of this replica's [`LeaderState`], updated by the [`Elector`] and read by
/// the HTTP endpoint (clones share the state).
#[derive(Clone, Default)]
pub struct LeaderStatus(Arc<AtomicU8>);

impl LeaderStatus {
    /// The current state.
    pub fn get(&self) -> LeaderState {
        LeaderState::from_u8(self.0.load(Ordering::Acquire))
    }

    fn set(&self, s: LeaderState) {
        self.0.store(s.to_u8(), Ordering::Release);
    }
}

impl std::fmt::Debug for LeaderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LeaderStatus({})", self.get().as_str())
    }
}

/// Two handles are equal when they share their state.
impl PartialEq for LeaderStatus {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LeaderStatus {}

/// Leader election settings (client-go defaults: 15 s / 10 s / 2 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// Lease name (`ferry-controller`).
    pub lease_name: String,
    /// Namespace of the Lease (the controller's namespace).
    pub namespace: String,
    /// This replica's identity (unique per process).
    pub identity: String,
    /// How long a Lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Interval between attempts.
    pub retry_period: Duration,
    /// Where this replica stands (shared with clones; read it for `/readyz`).
    pub status: LeaderStatus,
}

impl LeaderElection {
    /// Defaults for `namespace` and `identity`.
    pub fn new(namespace: &str, identity: &str) -> Self {
        LeaderElection {
            lease_name: LEASE_NAME.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            status: LeaderStatus::default(),
        }
    }

    /// An identity unique to this process: host name, process id and a random suffix.
    pub fn default_identity() -> String {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "ferry".into());
        format!(
            "{host}_{}_{:06x}",
            std::process::id(),
            rand::random_range(0..0xff_ffffu32)
        )
    }
}

/// Leader election failures.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The API refused to read or write the Lease.
    #[error("lease {namespace}/{name}: {message}")]
    Api {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What the API server said.
        message: String,
    },
    /// The leader could not renew within the renew deadline.
    #[error("lost the lease {0}: not renewed within the renew deadline")]
    Lost(String),
}

/// What the candidate does with the Lease it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take it (free, expired, or ours): write holder = self.
    Take {
        /// Whether the holder changes (a new acquisition, `leaseTransitions + 1`).
        transition: bool,
    },
    /// Another replica holds a valid Lease.
    Wait,
}

/// Decides from the Lease spec and how long its current record has been observed unchanged.
pub fn decide(spec: Option<&LeaseSpec>, me: &str, unchanged_for: Duration) -> Decision {
    let holder = spec
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or("");
    if holder == me {
        return Decision::Take { transition: false };
    }
    if holder.is_empty() {
        return Decision::Take { transition: true };
    }
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .map(|s| Duration::from_secs(s.max(0) as u64))
        .unwrap_or(Duration::from_secs(15));
    if unchanged_for >= duration {
        Decision::Take { transition: true }
    } else {
        Decision::Wait
    }
}

fn now_micro() -> MicroTime {
    MicroTime(jiff_now())
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

/// A candidate (and, once elected, the leader).
pub struct Elector {
    cfg: LeaderElection,
    api: Api<Lease>,
    observed: Option<(String, Instant)>,
    last_renew: Option<Instant>,
}

impl Elector {
    /// A candidate for `cfg` through `client`.
    pub fn new(client: kube::Client, cfg: LeaderElection) -> Self {
        let api = Api::namespaced(client, &cfg.namespace);
        Elector {
            cfg,
            api,
            observed: None,
            last_renew: None,
        }
    }

    fn err(&self, e: &kube::Error) -> LeaderError {
        LeaderError::Api {
            namespace: self.cfg.namespace.clone(),
            name: self.cfg.lease_name.clone(),
            message: crate::kube_io::error_message(e),
        }
    }

    /// One attempt to acquire or renew; `Ok(true)` when this replica holds the Lease now.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaderError> {
        let current = self
            .api
            .get_opt(&self.cfg.lease_name)
            .await
            .map_err(|e| self.err(&e))?;
        let secs = i32::try_from(self.cfg.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.lease_name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.cfg.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(now_micro()),
                    renew_time: Some(now_micro()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.last_renew = Some(Instant::now());
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(self.err(&e)),
            };
        };
        // Track how long the record has been unchanged, by our clock.
        let record = serde_json::to_string(&lease.spec).unwrap_or_default();
        let since = match &self.observed {
            Some((r, at)) if *r == record => *at,
            _ => {
                let at = Instant::now();
                self.observed = Some((record, at));
                at
            }
        };
        match decide(lease.spec.as_ref(), &self.cfg.identity, since.elapsed()) {
            Decision::Wait => Ok(false),
            Decision::Take { transition } => {
                let spec = lease.spec.get_or_insert_with(Default::default);
                if transition {
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                    spec.acquire_time = Some(now_micro());
                }
                spec.holder_identity = Some(self.cfg.identity.clone());
                spec.lease_duration_seconds = Some(secs);
                spec.renew_time = Some(now_micro());
                match self
                    .api
                    .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => {
                        self.last_renew = Some(Instant::now());
                        Ok(true)
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(self.err(&e)),
                }
            }
        }
    }

    /// Waits until this replica is the leader (standing by meanwhile).
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.cfg.status.set(LeaderState::Leader);
                    tracing::info!(identity = %self.cfg.identity, lease = %self.cfg.lease_name, "became leader");
                    return;
                }
                Ok(false) => {
                    if self.cfg.status.get() != LeaderState::Standby {
                        tracing::info!(identity = %self.cfg.identity, lease = %self.cfg.lease_name, "standing by");
                    }
                    self.cfg.status.set(LeaderState::Standby);
                }
                Err(e) => {
                    if self.cfg.status.get() != LeaderState::Starting {
                        self.cfg.status.set(LeaderState::Unreachable);
                    }
                    tracing::warn!(error = %e, "leader election");
                }
            }
            tokio::time::sleep(self.cfg.retry_period).await;
        }
    }

    /// Renews every `retry_period` while leading; returns when leadership is lost (a renewal
    /// did not succeed within `renew_deadline`, or another replica took the Lease).
    pub async fn hold(&mut self) -> LeaderError {
        loop {
            tokio::time::sleep(self.cfg.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => {}
                Ok(false) => {
                    self.cfg.status.set(LeaderState::Stopped);
                    return LeaderError::Lost(self.cfg.lease_name.clone());
                }
                Err(e) => tracing::warn!(error = %e, "renewing the lease"),
            }
            let stale = self
                .last_renew
                .is_none_or(|t| t.elapsed() > self.cfg.renew_deadline);
            if stale {
                self.cfg.status.set(LeaderState::Stopped);
                return LeaderError::Lost(self.cfg.lease_name.clone());
            }
        }
    }

    /// Gives the Lease up (on a clean stop) so another replica takes over at once.
    pub async fn release(&mut self) {
        self.cfg.status.set(LeaderState::Stopped);
        let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.lease_name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now_micro());
        if let Err(e) = self
            .api
            .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
            .await
        {
            tracing::debug!(error = %e, "releasing the lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(secs),
            ..Default::default()
        }
    }

    #[test]
    fn decisions_like_client_go() {
        let s = Duration::from_secs;
        assert_eq!(decide(None, "a", s(0)), Decision::Take { transition: true });
        assert_eq!(
            decide(Some(&spec("a", 15)), "a", s(100)),
            Decision::Take { transition: false }
        );
        assert_eq!(decide(Some(&spec("b", 15)), "a", s(14)), Decision::Wait);
        assert_eq!(
            decide(Some(&spec("b", 15)), "a", s(15)),
            Decision::Take { transition: true }
        );
        assert_eq!(
            decide(Some(&spec("", 15)), "a", s(0)),
            Decision::Take { transition: true }
        );
        // a released lease (duration 1 s) is taken quickly
        assert_eq!(
            decide(Some(&spec("b", 1)), "a", s(1)),
            Decision::Take { transition: true }
        );
    }

    #[test]
    fn standby_and_leader_are_ready_the_rest_not() {
        let le = LeaderElection::new("argocd", "a");
        let view = le.clone().status;
        assert_eq!(view, le.status);
        assert_ne!(view, LeaderStatus::default());
        assert_eq!(view.get(), LeaderState::Starting);
        for (s, ready) in [
            (LeaderState::Starting, false),
            (LeaderState::Standby, true),
            (LeaderState::Leader, true),
            (LeaderState::Unreachable, false),
            (LeaderState::Stopped, false),
        ] {
            le.status.set(s);
            assert_eq!(view.get(), s);
            assert_eq!(s.is_ready(), ready, "{}", s.as_str());
        }
    }

    #[test]
    fn identities_differ() {
        assert_ne!(
            LeaderElection::default_identity(),
            LeaderElection::default_identity()
        );
    }
}
