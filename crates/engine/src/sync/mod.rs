//! Sync planning: tracking, hooks/phases/waves, sync options, task planning and retry backoff
//! (gitops-engine `pkg/sync`).

pub mod deletion;
pub mod hooks;
pub mod options;
pub mod plan;
pub mod progress;
pub mod retry;
pub mod run;
pub mod status;
pub mod tracking;
