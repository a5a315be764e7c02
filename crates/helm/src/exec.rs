//! Execution of the template set with the `gotmpl` executor.

use std::collections::BTreeMap;

use crate::engine::Entry;

/// Parses every entry into one template set and executes the non-`_` ones.
pub(crate) fn execute(entries: &[Entry]) -> Result<BTreeMap<String, String>, String> {
    let _ = entries;
    Err("template executor unavailable".into())
}
