//! Fuzzes the sops file parsers: YAML and JSON stores, the `sops` metadata block and the
//! `ENC[...]` value format. Properties: no panic, and for YAML, writing a parsed document and
//! reading it back is stable (emit ∘ parse is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sops::{EncryptedFile, Format};

fuzz_target!(|data: &[u8]| {
    let _ = EncryptedFile::parse("fuzz.yaml", data, Format::Yaml);
    let _ = EncryptedFile::parse("fuzz.json", data, Format::Json);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sops::cipher::parse(text);
        if let Ok(docs) = sops::yaml::parse(text) {
            let once = sops::yaml::emit(&docs, 4);
            let again = sops::yaml::parse(&once)
                .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e}\n{once}"));
            assert_eq!(sops::yaml::emit(&again, 4), once, "emit/parse not stable");
        }
        if let Ok(v) = sops::json::parse(text) {
            let once = sops::json::emit(&v);
            let again = sops::json::parse(&once).expect("emitted JSON parses");
            assert_eq!(sops::json::emit(&again), once);
        }
    }
});
