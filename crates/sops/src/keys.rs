//! Master keys: age (X25519, passphrase-protected identity files) and OpenPGP (in-process with
//! rPGP, or through the `gpg` binary and its keyring in `GNUPGHOME`), and where to find them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use pgp::composed::{
    ArmorOptions, Deserializable, Message, MessageBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{KeyDetails, Password};
use zeroize::Zeroizing;

/// Environment variable holding the passphrase of a passphrase-protected age identity file.
pub const AGE_PASSPHRASE_ENV: &str = "FERRY_AGE_PASSPHRASE";

/// The private keys available for decryption (and public keys for encryption).
///
/// Debug output lists only counts and fingerprints/recipients, never key material.
#[derive(Default)]
pub struct Keyring {
    age: Vec<age::x25519::Identity>,
    pgp_secret: Vec<SignedSecretKey>,
    pgp_public: Vec<SignedPublicKey>,
    gnupg: Option<Gnupg>,
    /// Where keys were looked for, and problems met (for error messages; no secrets).
    notes: Vec<String>,
}

/// Use of the `gpg` binary (like sops' fallback): decrypts with the keyring in `GNUPGHOME`
/// (secret keys stay with gpg-agent) and exports public keys for encryption.
#[derive(Clone, Debug)]
struct Gnupg {
    exec: String,
    home: Option<PathBuf>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("age_identities", &self.age.len())
            .field("pgp_secret_keys", &self.pgp_secret.len())
            .field("gnupg", &self.gnupg)
            .finish()
    }
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys from the places sops looks: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`,
    /// the default age keys file (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else
    /// `~/.config/sops/age/keys.txt`), and the GnuPG keyring (`GNUPGHOME`, through the `gpg`
    /// binary named by `SOPS_GPG_EXEC`, default `gpg`). Problems are remembered and reported
    /// only if decryption then fails.
    pub fn from_environment() -> Self {
        let mut k = Keyring::new();
        if let Ok(v) = std::env::var("SOPS_AGE_KEY") {
            if let Err(e) = k.add_age_identities_multi(&v, "SOPS_AGE_KEY") {
                k.notes.push(format!("SOPS_AGE_KEY: {e}"));
            }
        } else {
            k.notes.push("SOPS_AGE_KEY is not set".into());
        }
        if let Some(path) = std::env::var_os("SOPS_AGE_KEY_FILE") {
            if let Err(e) = k.add_age_key_file(Path::new(&path)) {
                k.notes.push(format!("SOPS_AGE_KEY_FILE: {e}"));
            }
        } else {
            k.notes.push("SOPS_AGE_KEY_FILE is not set".into());
        }
        if let Ok(cmd) = std::env::var("SOPS_AGE_KEY_CMD") {
            match Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .stderr(Stdio::inherit())
                .output()
            {
                Ok(out) if out.status.success() => {
                    let text = Zeroizing::new(String::from_utf8_lossy(&out.stdout).into_owned());
                    if let Err(e) = k.add_age_identities(&text, "SOPS_AGE_KEY_CMD") {
                        k.notes.push(format!("SOPS_AGE_KEY_CMD: {e}"));
                    }
                }
                Ok(out) => k
                    .notes
                    .push(format!("SOPS_AGE_KEY_CMD failed with {}", out.status)),
                Err(e) => k.notes.push(format!("SOPS_AGE_KEY_CMD: {e}")),
            }
        }
        if let Some(path) = default_age_keys_file() {
            if path.exists() {
                if let Err(e) = k.add_age_key_file(&path) {
                    k.notes.push(format!("{}: {e}", path.display()));
                }
            } else {
                k.notes.push(format!("{} does not exist", path.display()));
            }
        }
        k.use_gnupg(std::env::var_os("GNUPGHOME").map(PathBuf::from));
        k
    }

    /// Enables the `gpg` binary with this `GNUPGHOME` (or gpg's default when `None`).
    pub fn use_gnupg(&mut self, home: Option<PathBuf>) {
        let exec = std::env::var("SOPS_GPG_EXEC").unwrap_or_else(|_| "gpg".into());
        self.gnupg = Some(Gnupg { exec, home });
    }

    /// Disables the `gpg` binary fallback.
    pub fn disable_gnupg(&mut self) {
        self.gnupg = None;
    }

    /// Number of in-process identities (age + PGP secret keys).
    pub fn len(&self) -> usize {
        self.age.len() + self.pgp_secret.len()
    }

    /// Whether no in-process identity is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The age recipients (public keys) of the loaded age identities.
    pub fn age_recipients(&self) -> Vec<String> {
        self.age.iter().map(|i| i.to_public().to_string()).collect()
    }

    /// Fingerprints (uppercase hex) of the loaded PGP secret keys.
    pub fn pgp_fingerprints(&self) -> Vec<String> {
        self.pgp_secret
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }

    /// Adds age identities from a keys file's text (one `AGE-SECRET-KEY-1…` a line, `#`
    /// comments). A passphrase-protected identity file (`age -p`, binary or armored) is
    /// decrypted with the passphrase from `FERRY_AGE_PASSPHRASE`.
    pub fn add_age_identities(&mut self, text: &str, location: &str) -> Result<usize, String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with("age-encryption") || trimmed.starts_with("-----BEGIN AGE") {
            let pass = std::env::var(AGE_PASSPHRASE_ENV).map_err(|_| {
                format!("{location} is passphrase-protected; set {AGE_PASSPHRASE_ENV}")
            })?;
            return self.add_age_identities_with_passphrase(text.as_bytes(), &pass, location);
        }
        self.add_age_lines(text, false, location)
    }

    /// Like [`Keyring::add_age_identities`], allowing several keys per line (`SOPS_AGE_KEY`).
    pub fn add_age_identities_multi(
        &mut self,
        text: &str,
        location: &str,
    ) -> Result<usize, String> {
        self.add_age_lines(text, true, location)
    }

    fn add_age_lines(&mut self, text: &str, multi: bool, location: &str) -> Result<usize, String> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = if multi {
                line.split_whitespace().collect()
            } else {
                vec![line.trim()]
            };
            for w in words {
                if w.starts_with("AGE-PLUGIN-") || w.starts_with("AGE-SECRET-KEY-PQ-") {
                    return Err(format!(
                        "{location} line {}: age plugin and post-quantum identities are not supported",
                        i + 1
                    ));
                }
                let id = age::x25519::Identity::from_str(w).map_err(|_| {
                    format!(
                        "{location} line {}: not an age identity (AGE-SECRET-KEY-1…)",
                        i + 1
                    )
                })?;
                self.age.push(id);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds the identities of a passphrase-protected age identity file.
    pub fn add_age_identities_with_passphrase(
        &mut self,
        data: &[u8],
        passphrase: &str,
        location: &str,
    ) -> Result<usize, String> {
        let id = age::scrypt::Identity::new(SecretString::from(passphrase.to_string()));
        let plain = age_decrypt_bytes(data, &[&id as &dyn age::Identity])
            .map_err(|e| format!("{location}: cannot decrypt identity file: {e}"))?;
        let text = Zeroizing::new(
            String::from_utf8(plain.to_vec()).map_err(|_| format!("{location}: not UTF-8"))?,
        );
        self.add_age_lines(&text, false, location)
    }

    /// Adds age identities from a file.
    pub fn add_age_key_file(&mut self, path: &Path) -> Result<usize, String> {
        let data =
            Zeroizing::new(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
        let text = Zeroizing::new(String::from_utf8_lossy(&data).into_owned());
        self.add_age_identities(&text, &path.display().to_string())
    }

    /// Adds OpenPGP secret keys (armored or binary, one or many, e.g. the output of
    /// `gpg --export-secret-keys`). Keys must not be passphrase-protected.
    pub fn add_pgp_secret_keys(&mut self, data: &[u8], location: &str) -> Result<usize, String> {
        let keys: Vec<SignedSecretKey> = if looks_armored(data) {
            let (iter, _) = SignedSecretKey::from_armor_many(data)
                .map_err(|e| format!("{location}: not an OpenPGP secret key: {e}"))?;
            iter.collect::<Result<_, _>>()
                .map_err(|e| format!("{location}: not an OpenPGP secret key: {e}"))?
        } else {
            SignedSecretKey::from_bytes_many(data)
                .map_err(|e| format!("{location}: not an OpenPGP secret key: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{location}: not an OpenPGP secret key: {e}"))?
        };
        if keys.is_empty() {
            return Err(format!("{location}: no OpenPGP secret key found"));
        }
        let n = keys.len();
        self.pgp_secret.extend(keys);
        Ok(n)
    }

    /// Adds OpenPGP secret keys from a file.
    pub fn add_pgp_key_file(&mut self, path: &Path) -> Result<usize, String> {
        let data =
            Zeroizing::new(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
        self.add_pgp_secret_keys(&data, &path.display().to_string())
    }

    /// Adds OpenPGP public keys (armored or binary) usable as encryption recipients.
    pub fn add_pgp_public_keys(&mut self, data: &[u8], location: &str) -> Result<usize, String> {
        let keys: Vec<SignedPublicKey> = if looks_armored(data) {
            let (iter, _) = SignedPublicKey::from_armor_many(data)
                .map_err(|e| format!("{location}: not an OpenPGP public key: {e}"))?;
            iter.collect::<Result<_, _>>()
                .map_err(|e| format!("{location}: not an OpenPGP public key: {e}"))?
        } else {
            SignedPublicKey::from_bytes_many(data)
                .map_err(|e| format!("{location}: not an OpenPGP public key: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{location}: not an OpenPGP public key: {e}"))?
        };
        let n = keys.len();
        self.pgp_public.extend(keys);
        Ok(n)
    }

    /// Where keys were looked for and what went wrong (no key material).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Decrypts an age-wrapped data key (or Shamir share).
    pub(crate) fn decrypt_age(&self, enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        if self.age.is_empty() {
            return Err("no age identity available".into());
        }
        let ids: Vec<&dyn age::Identity> =
            self.age.iter().map(|i| i as &dyn age::Identity).collect();
        age_decrypt_bytes(enc.as_bytes(), &ids)
    }

    /// Decrypts a PGP-wrapped data key for key `fp`.
    pub(crate) fn decrypt_pgp(&self, enc: &str, fp: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let mut errors = Vec::new();
        if !self.pgp_secret.is_empty() {
            match pgp_decrypt(enc, &self.pgp_secret) {
                Ok(k) => return Ok(k),
                Err(e) => errors.push(format!("in-process keys: {e}")),
            }
        }
        if let Some(g) = &self.gnupg {
            match g.decrypt(enc) {
                Ok(k) => return Ok(k),
                Err(e) => errors.push(format!("gpg: {e}")),
            }
        }
        if errors.is_empty() {
            errors.push(format!("no OpenPGP secret key available for {fp}"));
        }
        Err(errors.join("; "))
    }

    /// Encrypts `data` to the OpenPGP key `fp`; returns the armored message.
    pub(crate) fn encrypt_pgp(&self, fp: &str, data: &[u8]) -> Result<String, String> {
        let want = fp.to_ascii_uppercase();
        let matches = |k: &SignedPublicKey| {
            let f = format!("{:X}", k.fingerprint());
            f == want || (want.len() >= 16 && f.ends_with(&want))
        };
        let key = self
            .pgp_public
            .iter()
            .find(|k| matches(k))
            .cloned()
            .or_else(|| {
                self.pgp_secret
                    .iter()
                    .map(|s| s.to_public_key())
                    .find(|k| matches(k))
            });
        let key = match key {
            Some(k) => k,
            None => match &self.gnupg {
                Some(g) => g.export_public(&want)?,
                None => return Err(format!("public key {fp} not found")),
            },
        };
        pgp_encrypt(&key, data)
    }
}

fn looks_armored(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    String::from_utf8_lossy(head).contains("-----BEGIN PGP")
}

/// The default sops age keys file.
pub fn default_age_keys_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => {
            let home = PathBuf::from(std::env::var_os("HOME")?);
            if cfg!(target_os = "macos") {
                home.join("Library").join("Application Support")
            } else {
                home.join(".config")
            }
        }
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

fn age_decrypt_bytes(
    data: &[u8],
    ids: &[&dyn age::Identity],
) -> Result<Zeroizing<Vec<u8>>, String> {
    let reader = age::armor::ArmoredReader::new(data);
    let dec = age::Decryptor::new(reader).map_err(|e| e.to_string())?;
    let mut r = dec
        .decrypt(ids.iter().copied())
        .map_err(|e| e.to_string())?;
    let mut out = Zeroizing::new(Vec::new());
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Encrypts `data` to an age recipient (`age1…`) and armors it like sops.
pub(crate) fn encrypt_age(recipient: &str, data: &[u8]) -> Result<String, String> {
    let r = age::x25519::Recipient::from_str(recipient.trim())
        .map_err(|e| format!("invalid age recipient {recipient:?}: {e}"))?;
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    {
        let armored =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .map_err(|e| e.to_string())?;
        let mut w = enc.wrap_output(armored).map_err(|e| e.to_string())?;
        w.write_all(data).map_err(|e| e.to_string())?;
        let armored = w.finish().map_err(|e| e.to_string())?;
        armored.finish().map_err(|e| e.to_string())?;
    }
    let mut s = String::from_utf8(out).map_err(|e| e.to_string())?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Validates an age recipient string.
pub fn validate_age_recipient(r: &str) -> Result<(), String> {
    age::x25519::Recipient::from_str(r.trim())
        .map(|_| ())
        .map_err(|e| format!("invalid age recipient {r:?}: {e}"))
}

fn pgp_decrypt(enc: &str, keys: &[SignedSecretKey]) -> Result<Zeroizing<Vec<u8>>, String> {
    let (msg, _) = Message::from_string(enc).map_err(|e| format!("invalid PGP message: {e}"))?;
    let pw = Password::empty();
    let mut last = String::from("no key matched");
    for k in keys {
        let (msg, _) =
            Message::from_string(enc).map_err(|e| format!("invalid PGP message: {e}"))?;
        match msg.decrypt(&pw, k) {
            Ok(m) => {
                let mut m = if m.is_compressed() {
                    m.decompress().map_err(|e| e.to_string())?
                } else {
                    m
                };
                let data = m.as_data_vec().map_err(|e| e.to_string())?;
                return Ok(Zeroizing::new(data));
            }
            Err(e) => last = e.to_string(),
        }
    }
    drop(msg);
    Err(last)
}

fn pgp_encrypt(key: &SignedPublicKey, data: &[u8]) -> Result<String, String> {
    let mut rng = rand::rngs::OsRng;
    let mut builder = MessageBuilder::from_bytes("", data.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    let sub = key.public_subkeys.iter().find(|s| {
        s.signatures
            .iter()
            .any(|sig| sig.key_flags().encrypt_comms() || sig.key_flags().encrypt_storage())
    });
    match sub {
        Some(s) => builder
            .encrypt_to_key(&mut rng, s)
            .map_err(|e| format!("encrypting to subkey: {e}"))?,
        None => builder
            .encrypt_to_key(&mut rng, key)
            .map_err(|e| format!("encrypting to primary key: {e}"))?,
    };
    let s = builder
        .to_armored_string(rng, ArmorOptions::default())
        .map_err(|e| e.to_string())?;
    Ok(s.trim_end_matches('\n').to_string())
}

impl Gnupg {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.exec);
        if let Some(h) = &self.home {
            c.env("GNUPGHOME", h);
        }
        c.args(["--batch", "--no-tty", "--quiet"]);
        c
    }

    fn decrypt(&self, enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let mut child = self
            .command()
            .args(["--use-agent", "--decrypt"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.exec))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(enc.as_bytes()).map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().last().unwrap_or("").trim();
            return Err(format!("{} exited with {}: {first}", self.exec, out.status));
        }
        Ok(Zeroizing::new(out.stdout))
    }

    fn export_public(&self, fp: &str) -> Result<SignedPublicKey, String> {
        let out = self
            .command()
            .args(["--export", fp])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.exec))?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(format!("public key {fp} not found in the GnuPG keyring"));
        }
        let mut keys =
            SignedPublicKey::from_bytes_many(&out.stdout[..]).map_err(|e| e.to_string())?;
        match keys.next() {
            Some(Ok(k)) => Ok(k),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(format!("public key {fp} not found in the GnuPG keyring")),
        }
    }
}

/// Exports the secret keys of a GnuPG home (`gpg --export-secret-keys`) into a keyring, for
/// use without gpg-agent (e.g. to load a cluster-mounted keyring once). Keys protected by a
/// passphrase cannot be used in-process.
pub fn export_gnupg_secret_keys(
    home: Option<&Path>,
    keyring: &mut Keyring,
) -> Result<usize, String> {
    let exec = std::env::var("SOPS_GPG_EXEC").unwrap_or_else(|_| "gpg".into());
    let mut c = Command::new(&exec);
    if let Some(h) = home {
        c.env("GNUPGHOME", h);
    }
    let out = c
        .args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--export-secret-keys",
        ])
        .output()
        .map_err(|e| format!("cannot run {exec}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{exec} --export-secret-keys failed with {}",
            out.status
        ));
    }
    let data = Zeroizing::new(out.stdout);
    if data.is_empty() {
        return Ok(0);
    }
    keyring.add_pgp_secret_keys(&data, "GnuPG keyring")
}

/// Lets an `ExposeSecret` import stay used (age's SecretString API).
#[allow(dead_code)]
fn _expose(s: &SecretString) -> usize {
    s.expose_secret().len()
}
