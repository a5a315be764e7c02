//! Diff (work in progress in this commit).
