//! Driving a sync operation wave by wave (gitops-engine `syncContext.Sync`), as a pure state
//! machine: [`SyncRun::step`] says what to delete, prune and apply next; the controller does
//! it, reports each outcome ([`SyncRun::record_apply`], [`SyncRun::record_prune`],
//! [`SyncRun::record_deleted`]), feeds fresh live objects of the tasks it is asked about
//! ([`SyncRun::to_observe`], [`SyncRun::observe`]), and calls `step` again until the phase is
//! final.
//!
//! Semantics kept from Argo CD: a wave is applied, then (when the sync has several waves or
//! phases, or for hooks) its tasks must become healthy/complete before the next wave; prune
//! happens before apply within a wave; `BeforeHookCreation` hooks are deleted before being
//! re-created; a failure runs the `SyncFail` hooks; hooks are deleted on completion according
//! to their delete policy; messages are Argo CD's.

use crate::health::HealthOptions;
use crate::object;
use crate::sync::hooks::{HookDeletePolicy, SyncPhase};
use crate::sync::plan::{HOOK_FINALIZER, SyncPlan, SyncTask, TaskAction};
use crate::sync::progress::{OperationPhase, hook_phase, resource_phase};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Result codes of a task (`syncResult.resources[].status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultCode {
    /// Applied.
    Synced,
    /// Apply or prune failed.
    SyncFailed,
    /// Deleted.
    Pruned,
    /// Left in place (pruning disabled or `Prune=false`).
    PruneSkipped,
}

impl ResultCode {
    /// Argo CD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Synced => "Synced",
            ResultCode::SyncFailed => "SyncFailed",
            ResultCode::Pruned => "Pruned",
            ResultCode::PruneSkipped => "PruneSkipped",
        }
    }
}

/// Progress of one task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskState {
    /// Result code, once the task ran.
    pub result: Option<ResultCode>,
    /// Task phase (`hookPhase`): `None` = pending.
    pub phase: Option<OperationPhase>,
    /// Latest message.
    pub message: String,
    /// Latest live object known for the task.
    pub live: Option<Value>,
}

/// What to do next, in this order: remove finalizers, delete, prune, apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Remove the hook finalizer from these tasks' live objects.
    pub remove_finalizer: Vec<usize>,
    /// Delete these tasks' live objects (hooks: before re-creation or on completion).
    pub delete: Vec<usize>,
    /// Prune (delete) these tasks' live objects.
    pub prune: Vec<usize>,
    /// Apply these tasks' target objects.
    pub apply: Vec<usize>,
    /// Operation phase after this decision.
    pub phase: OperationPhase,
    /// Operation message.
    pub message: String,
}

impl Decision {
    fn state(phase: OperationPhase, message: impl Into<String>) -> Self {
        Decision {
            remove_finalizer: Vec::new(),
            delete: Vec::new(),
            prune: Vec::new(),
            apply: Vec::new(),
            phase,
            message: message.into(),
        }
    }
}

/// A sync operation in progress.
#[derive(Debug, Clone)]
pub struct SyncRun {
    /// The planned tasks.
    pub plan: SyncPlan,
    /// Per task progress, index-aligned with `plan.tasks`.
    pub states: Vec<TaskState>,
    /// Health rules for running tasks.
    pub health: HealthOptions,
    /// Set when an apply failed in the last wave (message "failed to apply").
    apply_failed: bool,
    /// Failure message once the sync failed (SyncFail hooks may still run).
    failure: Option<String>,
}

impl SyncRun {
    /// Starts a run for a plan.
    pub fn new(plan: SyncPlan, health: HealthOptions) -> Self {
        let states = plan
            .tasks
            .iter()
            .map(|t| TaskState {
                live: t.live.clone(),
                ..Default::default()
            })
            .collect();
        SyncRun {
            plan,
            states,
            health,
            apply_failed: false,
            failure: None,
        }
    }

    fn task(&self, i: usize) -> &SyncTask {
        &self.plan.tasks[i]
    }

    fn is_hook(&self, i: usize) -> bool {
        self.task(i).hook_type.is_some()
    }

    fn running(&self, i: usize) -> bool {
        self.states[i].phase == Some(OperationPhase::Running)
    }

    fn completed(&self, i: usize) -> bool {
        self.states[i].phase.is_some_and(OperationPhase::completed)
    }

    fn pending(&self, i: usize) -> bool {
        self.states[i].phase.is_none()
    }

    /// Tasks whose live object the controller should fetch before the next [`SyncRun::step`]:
    /// running tasks and pruned tasks still present.
    pub fn to_observe(&self) -> Vec<usize> {
        (0..self.states.len())
            .filter(|&i| {
                self.running(i)
                    || (self.states[i].result == Some(ResultCode::Pruned)
                        && self.states[i].live.is_some())
                    || (self.pending(i) && self.is_hook(i) && self.states[i].live.is_some())
            })
            .collect()
    }

    /// Records the current live object of a task (`None` = it does not exist) and, for a
    /// running task, derives its phase from health (hooks: complete/failed; resources:
    /// Healthy → Succeeded, Degraded → Failed).
    pub fn observe(&mut self, i: usize, live: Option<Value>) {
        if i >= self.states.len() {
            return;
        }
        if self.running(i)
            && let Some(l) = &live
        {
            let (phase, message) = if self.is_hook(i) {
                hook_phase(l, &self.health)
            } else {
                resource_phase(l, &self.health)
            };
            self.states[i].phase = Some(phase);
            if !message.is_empty() {
                self.states[i].message = message;
            }
        }
        self.states[i].live = live;
    }

    /// Records the outcome of applying task `i`.
    pub fn record_apply(&mut self, i: usize, outcome: Result<String, String>) {
        let Some(s) = self.states.get_mut(i) else {
            return;
        };
        match outcome {
            Ok(msg) => {
                s.result = Some(ResultCode::Synced);
                s.phase = Some(OperationPhase::Running);
                if !msg.is_empty() {
                    s.message = msg;
                }
            }
            Err(msg) => {
                s.result = Some(ResultCode::SyncFailed);
                s.phase = Some(OperationPhase::Failed);
                s.message = msg;
                self.apply_failed = true;
            }
        }
    }

    /// Records the outcome of pruning task `i` (Argo CD's message on success is `pruned`).
    pub fn record_prune(&mut self, i: usize, outcome: Result<(), String>) {
        let Some(s) = self.states.get_mut(i) else {
            return;
        };
        match outcome {
            Ok(()) => {
                s.result = Some(ResultCode::Pruned);
                s.phase = Some(OperationPhase::Succeeded);
                s.message = "pruned".into();
            }
            Err(msg) => {
                s.result = Some(ResultCode::SyncFailed);
                s.phase = Some(OperationPhase::Failed);
                s.message = msg;
                self.apply_failed = true;
            }
        }
    }

    /// Records that a live hook was deleted (before re-creation): it is created fresh next.
    pub fn record_deleted(&mut self, i: usize, outcome: Result<(), String>) {
        let Some(s) = self.states.get_mut(i) else {
            return;
        };
        match outcome {
            Ok(()) => s.live = None,
            Err(msg) => {
                s.phase = Some(OperationPhase::Error);
                s.message = format!("failed to delete resource: {msg}");
            }
        }
    }

    fn multi_step(&self) -> bool {
        let t = &self.plan.tasks;
        match (t.first(), t.last()) {
            (Some(a), Some(b)) => a.phase != b.phase || a.wave != b.wave,
            _ => false,
        }
    }

    fn waiting_message(&self, idx: &[usize], deletion: bool) -> String {
        let first = idx[0];
        let hook = self.is_hook(first);
        let waiting_for = if deletion {
            "deletion of"
        } else if hook {
            "completion of hook"
        } else {
            "healthy state of"
        };
        let obj = self.task(first).obj();
        let mut m = format!(
            "waiting for {waiting_for} {}/{}/{}",
            object::group(obj),
            object::kind(obj),
            object::name(obj)
        );
        if idx.len() > 1 {
            let more = if hook { "hooks" } else { "resources" };
            m.push_str(&format!(" and {} more {more}", idx.len() - 1));
        }
        m
    }

    fn has_policy(&self, i: usize, p: HookDeletePolicy) -> bool {
        self.is_hook(i) && self.task(i).delete_policies.contains(&p)
    }

    fn failed_with(&self, message: &str, failed: &[usize]) -> String {
        let mut msgs: Vec<&str> = Vec::new();
        for &i in failed {
            let m = self.states[i].message.as_str();
            if !msgs.contains(&m) {
                msgs.push(m);
            }
        }
        if msgs.is_empty() {
            message.to_string()
        } else {
            format!("{message}, reason: {}", msgs.join(","))
        }
    }

    /// The next decision (see the module docs).
    pub fn step(&mut self) -> Decision {
        let n = self.plan.tasks.len();
        let all: Vec<usize> = (0..n).collect();
        let multi = self.multi_step();

        // Running tasks (hooks always, resources when multi-step) must finish first.
        let running: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| (multi || self.is_hook(i)) && self.running(i))
            .collect();
        if !running.is_empty() {
            let m = self.waiting_message(&running, false);
            return Decision::state(OperationPhase::Running, m);
        }
        // Pruned objects still being deleted.
        let deleting: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| {
                self.states[i].result == Some(ResultCode::Pruned)
                    && self.states[i]
                        .live
                        .as_ref()
                        .is_some_and(object::is_deleting)
            })
            .collect();
        if !deleting.is_empty() {
            let m = self.waiting_message(&deleting, true);
            return Decision::state(OperationPhase::Running, m);
        }

        let remove_finalizer: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| {
                self.is_hook(i)
                    && self.completed(i)
                    && self.states[i]
                        .live
                        .as_ref()
                        .is_some_and(|l| object::finalizers(l).contains(&HOOK_FINALIZER))
            })
            .collect();
        let delete_ok: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| {
                self.states[i].live.is_some()
                    && !self.running(i)
                    && self.has_policy(i, HookDeletePolicy::HookSucceeded)
            })
            .collect();
        let delete_failed: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| {
                self.states[i].live.is_some()
                    && !self.running(i)
                    && self.has_policy(i, HookDeletePolicy::HookFailed)
            })
            .collect();

        let (sync_fail, tasks): (Vec<usize>, Vec<usize>) = all
            .iter()
            .partition(|&&i| self.task(i).phase == SyncPhase::SyncFail);

        // Failure: run the SyncFail hooks, then report.
        let failed_tasks: Vec<usize> = tasks
            .iter()
            .copied()
            .filter(|&i| {
                self.completed(i) && self.states[i].phase != Some(OperationPhase::Succeeded)
            })
            .collect();
        if !failed_tasks.is_empty() || self.failure.is_some() {
            let failure = match &self.failure {
                Some(f) => f.clone(),
                None => {
                    let base = if self.apply_failed {
                        "one or more objects failed to apply"
                    } else {
                        "one or more synchronization tasks completed unsuccessfully"
                    };
                    let sync_failed: Vec<usize> = failed_tasks
                        .iter()
                        .copied()
                        .filter(|&i| self.states[i].result == Some(ResultCode::SyncFailed))
                        .collect();
                    let f = self.failed_with(base, &sync_failed);
                    self.failure = Some(f.clone());
                    f
                }
            };
            let pending_fail: Vec<usize> = sync_fail
                .iter()
                .copied()
                .filter(|&i| self.pending(i))
                .collect();
            if !pending_fail.is_empty() {
                let mut d = Decision::state(OperationPhase::Running, failure);
                d.apply = pending_fail;
                d.remove_finalizer = remove_finalizer;
                return d;
            }
            let mut d = Decision::state(OperationPhase::Failed, failure.clone());
            let failed_hooks: Vec<usize> = sync_fail
                .iter()
                .copied()
                .filter(|&i| {
                    self.completed(i) && self.states[i].phase != Some(OperationPhase::Succeeded)
                })
                .collect();
            if !failed_hooks.is_empty() {
                d.message = format!(
                    "{failure}\n{}",
                    self.failed_with("one or more SyncFail hooks failed", &failed_hooks)
                );
            }
            d.remove_finalizer = remove_finalizer;
            d.delete = delete_failed;
            return d;
        }

        let pending: Vec<usize> = tasks.iter().copied().filter(|&i| self.pending(i)).collect();
        if pending.is_empty() {
            let mut d = Decision::state(
                OperationPhase::Succeeded,
                if n == 0 {
                    "successfully synced (no more tasks)"
                } else {
                    "successfully synced (all tasks run)"
                },
            );
            d.remove_finalizer = remove_finalizer;
            d.delete = delete_ok;
            return d;
        }

        // The next wave.
        let (phase, wave) = (self.task(pending[0]).phase, self.task(pending[0]).wave);
        let wave_tasks: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|&i| self.task(i).phase == phase && self.task(i).wave == wave)
            .collect();
        let mut d = Decision::state(OperationPhase::Running, "one or more tasks are running");
        d.remove_finalizer = remove_finalizer;
        // Existing hooks of this wave lose their finalizer before anything else.
        for &i in &wave_tasks {
            if self.is_hook(i)
                && self.states[i]
                    .live
                    .as_ref()
                    .is_some_and(|l| object::finalizers(l).contains(&HOOK_FINALIZER))
                && !d.remove_finalizer.contains(&i)
            {
                d.remove_finalizer.push(i);
            }
        }
        // Prune first; prune confirmation blocks the wave.
        let confirm: Vec<usize> = wave_tasks
            .iter()
            .copied()
            .filter(|&i| self.task(i).action == TaskAction::PruneNeedsConfirmation)
            .collect();
        if !confirm.is_empty() {
            let obj = self.task(confirm[0]).obj();
            let mut m = format!(
                "Waiting for pruning confirmation of {}/{}/{}",
                object::api_version(obj),
                object::kind(obj),
                object::name(obj)
            );
            if confirm.len() > 1 {
                m.push_str(&format!(" and {} more resources", confirm.len() - 1));
            }
            d.message = m;
            return d;
        }
        for &i in &wave_tasks {
            match self.plan.tasks[i].action.clone() {
                TaskAction::Prune => d.prune.push(i),
                TaskAction::PruneSkipped(msg) => {
                    let s = &mut self.states[i];
                    s.result = Some(ResultCode::PruneSkipped);
                    s.phase = Some(OperationPhase::Succeeded);
                    s.message = msg;
                }
                _ => {}
            }
        }
        // Hooks to delete before re-creation: nothing is applied until they are gone.
        let recreate: Vec<usize> = wave_tasks
            .iter()
            .copied()
            .filter(|&i| {
                self.is_hook(i)
                    && self.states[i].live.is_some()
                    && self.has_policy(i, HookDeletePolicy::BeforeHookCreation)
            })
            .collect();
        if !recreate.is_empty() {
            d.delete = recreate;
            return d;
        }
        d.apply = wave_tasks
            .iter()
            .copied()
            .filter(|&i| !self.task(i).is_prune())
            .collect();
        self.apply_failed = false;
        if d.apply.is_empty() && d.prune.is_empty() && d.remove_finalizer.is_empty() {
            // Only skipped prunes in this wave (now recorded): go on with the next one.
            return self.step();
        }
        d
    }
}

#[cfg(test)]
mod tests;
