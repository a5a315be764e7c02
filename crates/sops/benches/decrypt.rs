//! Benchmark: parse + decrypt (age data key, 1,000 AES-GCM values, MAC check) of a sops YAML
//! file with 1,000 values. Run: `cargo bench -p sops --bench decrypt`.
//! Prints the median and minimum of 50 runs; the target is under 20 ms.

use std::time::Instant;

use age::secrecy::ExposeSecret;
use sops::{EncryptOptions, EncryptedFile, Format, KeyGroupSpec, Keyring};

fn main() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let mut keys = Keyring::new();
    keys.disable_gnupg();
    keys.add_age_identities(identity.to_string().expose_secret(), "bench")
        .expect("identity");

    let mut plain = String::new();
    for g in 0..50 {
        plain.push_str(&format!("# group {g}\ngroup{g}:\n"));
        for i in 0..20 {
            plain.push_str(&format!(
                "  key{i}: value-{g}-{i}-abcdefghijklmnopqrstuvwxyz\n"
            ));
        }
    }
    let opts = EncryptOptions {
        key_groups: vec![KeyGroupSpec {
            age: vec![recipient],
            pgp: vec![],
        }],
        ..Default::default()
    };
    let enc = sops::encrypt_plaintext("bench.yaml", plain.as_bytes(), Format::Yaml, &opts, &keys)
        .expect("encrypt");
    assert_eq!(enc.matches("type:str]").count(), 1001, "1,000 values + MAC");

    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let file = EncryptedFile::parse("bench.yaml", enc.as_bytes(), Format::Yaml).expect("parse");
        let dec = file.decrypt(&keys).expect("decrypt");
        std::hint::black_box(&dec);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "decrypt 1,000-value sops YAML file ({} bytes): median {:.2} ms, min {:.2} ms over {} runs",
        enc.len(),
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times.len()
    );
}
