//! `ferry secrets`: sops-compatible encrypt/decrypt/edit/set/rotate/updatekeys.
//!
//! Keys come from the places sops looks (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY_CMD`, `~/.config/sops/age/keys.txt`, the GnuPG keyring in `GNUPGHOME` through
//! `gpg`), plus `--age-key-file` / `--pgp-key-file`. New files take their keys and rules from
//! the first matching creation rule of `.sops.yaml` (searched from the working directory
//! upwards, or `--config` / `SOPS_CONFIG`) unless `--age`/`--pgp` are given.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use sops::config::{Config, find_config};
use sops::{
    Decrypted, EncryptOptions, EncryptedFile, Format, KeyGroupSpec, Keyring, Rule, Value,
    encrypt_documents, parse_documents, parse_tree_path,
};

/// Subcommands of `ferry secrets`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Decrypt a file to stdout (or in place with -i).
    Decrypt {
        /// The encrypted file.
        file: PathBuf,
        #[command(flatten)]
        io: IoArgs,
        /// Print only the value at this path (`["key"][0]`).
        #[arg(long)]
        extract: Option<String>,
        /// Do not fail on a MAC mismatch.
        #[arg(long)]
        ignore_mac: bool,
        /// Replace the file with its plaintext.
        #[arg(short = 'i', long)]
        in_place: bool,
        /// Write the output to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Encrypt a plaintext file to stdout (or in place with -i).
    Encrypt {
        /// The plaintext file.
        file: PathBuf,
        #[command(flatten)]
        io: IoArgs,
        #[command(flatten)]
        rules: RuleArgs,
        /// Replace the file with its encrypted form.
        #[arg(short = 'i', long)]
        in_place: bool,
        /// Write the output to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Edit a file in $EDITOR through a plaintext copy kept in memory-backed storage.
    Edit {
        /// The encrypted file (created with `.sops.yaml` rules if missing).
        file: PathBuf,
        #[command(flatten)]
        io: IoArgs,
        #[command(flatten)]
        rules: RuleArgs,
        /// Do not fail on a MAC mismatch.
        #[arg(long)]
        ignore_mac: bool,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Set one value (JSON) at a path, re-encrypting only that value.
    Set {
        /// The encrypted file.
        file: PathBuf,
        /// Path like `["app"]["image"]["tag"]`.
        path: String,
        /// JSON value (omit with --value-stdin).
        value: Option<String>,
        /// Treat VALUE as a file to read the JSON value from.
        #[arg(long)]
        value_file: bool,
        /// Read the JSON value from stdin.
        #[arg(long, conflicts_with = "value_file")]
        value_stdin: bool,
        /// Do nothing if the path already has this value.
        #[arg(long)]
        idempotent: bool,
        #[command(flatten)]
        io: IoArgs,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Remove the value at a path.
    Unset {
        /// The encrypted file.
        file: PathBuf,
        /// Path like `["app"]["image"]["tag"]`.
        path: String,
        #[command(flatten)]
        io: IoArgs,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Generate a new data key and re-encrypt every value.
    Rotate {
        /// The encrypted file.
        file: PathBuf,
        #[command(flatten)]
        io: IoArgs,
        /// Replace the file (default: print to stdout).
        #[arg(short = 'i', long)]
        in_place: bool,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Re-wrap the data key for the master keys of the matching `.sops.yaml` creation rule.
    Updatekeys {
        /// The encrypted file.
        file: PathBuf,
        #[command(flatten)]
        io: IoArgs,
        /// Apply without asking.
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        keys: KeyArgs,
    },
}

/// Format options.
#[derive(clap::Args, Clone)]
pub struct IoArgs {
    /// Input format (yaml, json); default from the file extension.
    #[arg(long)]
    input_type: Option<String>,
    /// Output format (yaml, json); default: the input format.
    #[arg(long)]
    output_type: Option<String>,
    /// `.sops.yaml` to use instead of searching from the working directory.
    #[arg(long, env = "SOPS_CONFIG")]
    config: Option<PathBuf>,
}

/// Extra key sources.
#[derive(clap::Args, Clone)]
pub struct KeyArgs {
    /// Additional age identity file.
    #[arg(long)]
    age_key_file: Vec<PathBuf>,
    /// Additional OpenPGP secret key file (armored or binary, unprotected).
    #[arg(long)]
    pgp_key_file: Vec<PathBuf>,
    /// Do not use the gpg binary / GNUPGHOME keyring.
    #[arg(long)]
    no_gpg: bool,
}

/// Master keys and value rules for new files (override `.sops.yaml`).
#[derive(clap::Args, Clone)]
pub struct RuleArgs {
    /// age recipients, comma separated.
    #[arg(long, env = "SOPS_AGE_RECIPIENTS")]
    age: Option<String>,
    /// OpenPGP fingerprints, comma separated.
    #[arg(long, env = "SOPS_PGP_FP")]
    pgp: Option<String>,
    /// Shares needed when several key groups are configured.
    #[arg(long)]
    shamir_secret_sharing_threshold: Option<usize>,
    /// Keys with this suffix stay in plaintext.
    #[arg(long)]
    unencrypted_suffix: Option<String>,
    /// Only keys with this suffix are encrypted.
    #[arg(long)]
    encrypted_suffix: Option<String>,
    /// Keys matching this regex stay in plaintext.
    #[arg(long)]
    unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted.
    #[arg(long)]
    encrypted_regex: Option<String>,
    /// Values under a comment matching this regex stay in plaintext.
    #[arg(long)]
    unencrypted_comment_regex: Option<String>,
    /// Only values under a comment matching this regex are encrypted.
    #[arg(long)]
    encrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    mac_only_encrypted: bool,
}

/// Runs `ferry secrets`.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Decrypt {
            file,
            io,
            extract,
            ignore_mac,
            in_place,
            output,
            keys,
        } => {
            let (enc, _) = load_encrypted(&file, &io)?;
            let plain = enc.decrypt_with(&keyring(&keys)?, ignore_mac)?;
            let out_format = output_format(&io, plain.format())?;
            let text = match extract {
                Some(p) => {
                    let steps =
                        parse_tree_path(&p).map_err(|e| anyhow!("{}: {e}", file.display()))?;
                    let v = plain
                        .get(&steps)
                        .ok_or_else(|| anyhow!("{}: path {p} not found", file.display()))?;
                    extract_text(v, out_format)
                }
                None => plain.to_plaintext_as(out_format).to_string(),
            };
            let text = zeroize::Zeroizing::new(text);
            tracing::debug!(file = %file.display(), "decrypted");
            if in_place {
                write_atomic(&file, text.as_bytes())?;
            } else if let Some(o) = output {
                write_atomic(&o, text.as_bytes())?;
            } else {
                std::io::stdout().write_all(text.as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Encrypt {
            file,
            io,
            rules,
            in_place,
            output,
            keys,
        } => {
            let format = input_format(&io, &file)?;
            let data = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
            let data = zeroize::Zeroizing::new(data);
            let name = file.display().to_string();
            if sops::is_sops_file(&data, format) {
                bail!("{name}: the file is already encrypted");
            }
            let docs = parse_documents(&name, &data, format)?;
            let opts = encrypt_options(&file, &io, &rules)?;
            let out_format = output_format(&io, format)?;
            let text = encrypt_documents(&name, docs, out_format, &opts, &keyring(&keys)?)?;
            tracing::debug!(file = %name, "encrypted");
            if in_place {
                write_atomic(&file, text.as_bytes())?;
            } else if let Some(o) = output {
                write_atomic(&o, text.as_bytes())?;
            } else {
                std::io::stdout().write_all(text.as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Edit {
            file,
            io,
            rules,
            ignore_mac,
            keys,
        } => edit(&file, &io, &rules, ignore_mac, &keys),
        Command::Set {
            file,
            path,
            value,
            value_file,
            value_stdin,
            idempotent,
            io,
            keys,
        } => {
            let steps = parse_tree_path(&path).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let json = zeroize::Zeroizing::new(if value_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                let v = value.ok_or_else(|| anyhow!("missing VALUE (or use --value-stdin)"))?;
                if value_file {
                    std::fs::read_to_string(&v).with_context(|| v.clone())?
                } else {
                    v
                }
            });
            let new_value =
                sops::json::parse(&json).map_err(|e| anyhow!("value is not valid JSON: {e}"))?;
            let (enc, _) = load_encrypted(&file, &io)?;
            let mut plain = enc.decrypt(&keyring(&keys)?)?;
            if idempotent && plain.get(&steps) == Some(&new_value) {
                return Ok(ExitCode::SUCCESS);
            }
            plain.set(&steps, new_value)?;
            let text = plain.encrypt()?;
            write_atomic(&file, text.as_bytes())?;
            tracing::debug!(file = %file.display(), path = %path, "value set");
            Ok(ExitCode::SUCCESS)
        }
        Command::Unset {
            file,
            path,
            io,
            keys,
        } => {
            let steps = parse_tree_path(&path).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let (enc, _) = load_encrypted(&file, &io)?;
            let mut plain = enc.decrypt(&keyring(&keys)?)?;
            plain.unset(&steps)?;
            let text = plain.encrypt()?;
            write_atomic(&file, text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rotate {
            file,
            io,
            in_place,
            keys,
        } => {
            let (enc, _) = load_encrypted(&file, &io)?;
            let kr = keyring(&keys)?;
            let mut plain = enc.decrypt(&kr)?;
            let text = plain.rotate(&kr)?;
            if in_place {
                write_atomic(&file, text.as_bytes())?;
            } else {
                std::io::stdout().write_all(text.as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Updatekeys {
            file,
            io,
            yes,
            keys,
        } => {
            let (enc, _) = load_encrypted(&file, &io)?;
            let cfg = load_config(&io)?.ok_or_else(|| {
                anyhow!(
                    "{}: no .sops.yaml found (updatekeys needs creation rules)",
                    file.display()
                )
            })?;
            let rule = cfg.rule_for(&file).map_err(|e| anyhow!(e))?;
            let kr = keyring(&keys)?;
            let current = groups_of(enc.metadata());
            if current == rule.key_groups
                && enc.metadata().shamir_threshold
                    == rule.shamir_threshold.filter(|_| rule.key_groups.len() > 1)
            {
                eprintln!("{}: already up to date", file.display());
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!("The following changes will be made to the file's key groups:");
            describe_change(&current, &rule.key_groups);
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "{}: refusing to update keys without confirmation (use --yes)",
                        file.display()
                    );
                }
                eprint!("Is this okay? (y/n): ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    eprintln!("Changes not applied");
                    return Ok(ExitCode::FAILURE);
                }
            }
            let mut plain = enc.decrypt(&kr)?;
            let text = plain.update_keys(&kr, &rule.key_groups, rule.shamir_threshold)?;
            write_atomic(&file, text.as_bytes())?;
            eprintln!("{}: key groups updated", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn groups_of(m: &sops::Metadata) -> Vec<KeyGroupSpec> {
    m.key_groups
        .iter()
        .map(|g| KeyGroupSpec {
            age: g.age.iter().map(|a| a.recipient.clone()).collect(),
            pgp: g.pgp.iter().map(|p| p.fp.clone()).collect(),
        })
        .collect()
}

fn describe_change(old: &[KeyGroupSpec], new: &[KeyGroupSpec]) {
    for i in 0..old.len().max(new.len()) {
        eprintln!("Group {}", i + 1);
        let o = old.get(i).cloned().unwrap_or_default();
        let n = new.get(i).cloned().unwrap_or_default();
        for k in o.age.iter().chain(o.pgp.iter()) {
            if n.age.contains(k) || n.pgp.contains(k) {
                eprintln!("    {k}");
            } else {
                eprintln!("--- {k}");
            }
        }
        for k in n.age.iter().chain(n.pgp.iter()) {
            if !(o.age.contains(k) || o.pgp.contains(k)) {
                eprintln!("+++ {k}");
            }
        }
    }
}

fn input_format(io: &IoArgs, file: &Path) -> Result<Format> {
    match &io.input_type {
        Some(t) => {
            Format::from_name(t).ok_or_else(|| anyhow!("unsupported input type {t:?} (yaml, json)"))
        }
        None => Ok(Format::from_path(&file.to_string_lossy())),
    }
}

fn output_format(io: &IoArgs, default: Format) -> Result<Format> {
    match &io.output_type {
        Some(t) => Format::from_name(t)
            .ok_or_else(|| anyhow!("unsupported output type {t:?} (yaml, json)")),
        None => Ok(default),
    }
}

fn load_config(io: &IoArgs) -> Result<Option<Config>> {
    let path = match &io.config {
        Some(p) => Some(p.clone()),
        None => find_config(&std::env::current_dir()?),
    };
    match path {
        Some(p) => Ok(Some(Config::load(&p).map_err(|e| anyhow!(e))?)),
        None => Ok(None),
    }
}

fn load_encrypted(file: &Path, io: &IoArgs) -> Result<(EncryptedFile, Option<Config>)> {
    let format = input_format(io, file)?;
    let data = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let mut enc = EncryptedFile::parse(&file.display().to_string(), &data, format)?;
    let cfg = load_config(io).ok().flatten();
    if let Some(i) = cfg.as_ref().and_then(|c| c.yaml_indent) {
        enc.yaml_indent = i;
    }
    Ok((enc, cfg))
}

fn keyring(args: &KeyArgs) -> Result<Keyring> {
    let mut k = Keyring::from_environment();
    if args.no_gpg {
        k.disable_gnupg();
    }
    for f in &args.age_key_file {
        k.add_age_key_file(f).map_err(|e| anyhow!(e))?;
    }
    for f in &args.pgp_key_file {
        k.add_pgp_key_file(f).map_err(|e| anyhow!(e))?;
    }
    Ok(k)
}

fn split_list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn encrypt_options(file: &Path, io: &IoArgs, rules: &RuleArgs) -> Result<EncryptOptions> {
    let cfg = load_config(io)?;
    let mut opts = EncryptOptions::default();
    let explicit_keys = rules.age.is_some() || rules.pgp.is_some();
    if let Some(cfg) = &cfg {
        opts.yaml_indent = cfg.yaml_indent.unwrap_or(4);
        if !explicit_keys {
            let rule = cfg.rule_for(file).map_err(|e| anyhow!(e))?;
            if !rule.unsupported.is_empty() && rule.key_groups.is_empty() {
                bail!(
                    "{}: the matching creation rule uses key types ferry does not support: {}",
                    cfg.path.display(),
                    rule.unsupported.join(", ")
                );
            }
            opts = rule.to_options(cfg.yaml_indent);
        }
    }
    if explicit_keys {
        opts.key_groups = vec![KeyGroupSpec {
            age: split_list(&rules.age),
            pgp: split_list(&rules.pgp),
        }];
    }
    if opts.key_groups.is_empty() {
        bail!(
            "{}: no master keys: pass --age/--pgp or add a creation rule to .sops.yaml",
            file.display()
        );
    }
    let given: Vec<Rule> = [
        rules
            .unencrypted_suffix
            .clone()
            .map(Rule::UnencryptedSuffix),
        rules.encrypted_suffix.clone().map(Rule::EncryptedSuffix),
        rules.unencrypted_regex.clone().map(Rule::UnencryptedRegex),
        rules.encrypted_regex.clone().map(Rule::EncryptedRegex),
        rules
            .unencrypted_comment_regex
            .clone()
            .map(Rule::UnencryptedCommentRegex),
        rules
            .encrypted_comment_regex
            .clone()
            .map(Rule::EncryptedCommentRegex),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        bail!(
            "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
        );
    }
    if let Some(r) = given.into_iter().next() {
        opts.rule = r;
    }
    if rules.mac_only_encrypted {
        opts.mac_only_encrypted = true;
    }
    if let Some(t) = rules.shamir_secret_sharing_threshold {
        opts.shamir_threshold = Some(t);
    }
    Ok(opts)
}

fn extract_text(v: &Value, format: Format) -> String {
    match v {
        Value::Scalar(sops::Scalar::Str(s)) => s.clone(),
        Value::Scalar(s) => match format {
            Format::Json => sops::emit_documents(std::slice::from_ref(v), Format::Json, 4)
                .trim_end()
                .to_string(),
            Format::Yaml => s.key_string(),
        },
        other => sops::emit_documents(std::slice::from_ref(other), format, 4),
    }
}

/// Writes a file atomically (temp file in the same directory, then rename), keeping the
/// permissions of an existing file. Nothing is written if any step fails.
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file path", path.display()))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.ferry-{}", std::process::id()));
    let perms = std::fs::metadata(path).ok().map(|m| m.permissions());
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Some(p) = perms {
            f.set_permissions(p)?;
        }
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow!("{}: {e}", path.display()));
    }
    Ok(())
}

/// A private directory on memory-backed storage for the plaintext during `edit`; wiped and
/// removed on drop.
struct ShmDir {
    dir: PathBuf,
    file: PathBuf,
}

impl Drop for ShmDir {
    fn drop(&mut self) {
        if let Ok(m) = std::fs::metadata(&self.file)
            && let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&self.file)
        {
            let _ = f.write_all(&vec![0u8; m.len() as usize]);
            let _ = f.sync_all();
        }
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a directory is on tmpfs/ramfs (per /proc/mounts).
fn is_memory_fs(dir: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return false;
    };
    let Ok(canon) = std::fs::canonicalize(dir) else {
        return false;
    };
    let mut best: Option<(usize, bool)> = None;
    for line in mounts.lines() {
        let mut parts = line.split_whitespace();
        let (Some(_dev), Some(mp), Some(fs)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let mp = mp.replace("\\040", " ");
        if canon.starts_with(&mp) && best.is_none_or(|(len, _)| mp.len() >= len) {
            best = Some((mp.len(), fs == "tmpfs" || fs == "ramfs"));
        }
    }
    best.is_some_and(|(_, mem)| mem)
}

fn shm_dir(ext: &str) -> Result<ShmDir> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("FERRY_SECRETS_TMPDIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from("/dev/shm"));
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        candidates.push(PathBuf::from(d));
    }
    let base = candidates
        .into_iter()
        .find(|d| d.is_dir() && is_memory_fs(d))
        .ok_or_else(|| anyhow!("no memory-backed directory (tmpfs) for the plaintext copy: /dev/shm and $XDG_RUNTIME_DIR are unavailable; set FERRY_SECRETS_TMPDIR to a tmpfs directory"))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = base.join(format!("ferry-secrets-{}-{nonce:x}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("{}", dir.display()))?;
    let file = dir.join(format!("plaintext.{ext}"));
    let guard = ShmDir {
        dir,
        file: file.clone(),
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .with_context(|| format!("{}", file.display()))?;
    Ok(guard)
}

fn edit(
    file: &Path,
    io: &IoArgs,
    rules: &RuleArgs,
    ignore_mac: bool,
    keys: &KeyArgs,
) -> Result<ExitCode> {
    let format = input_format(io, file)?;
    let kr = keyring(keys)?;
    let name = file.display().to_string();
    let mut existing: Option<Decrypted> = None;
    // For a new file, resolve keys and rules before opening the editor so no edit is lost.
    let new_opts = if file.exists() {
        None
    } else {
        Some(encrypt_options(file, io, rules)?)
    };
    let original = if file.exists() {
        let (enc, _) = load_encrypted(file, io)?;
        let plain = enc.decrypt_with(&kr, ignore_mac)?;
        let text = plain.to_plaintext();
        existing = Some(plain);
        text
    } else {
        zeroize::Zeroizing::new(String::new())
    };
    let ext = match format {
        Format::Json => "json",
        Format::Yaml => "yaml",
    };
    let shm = shm_dir(ext)?;
    std::fs::write(&shm.file, original.as_bytes())
        .with_context(|| format!("{}", shm.file.display()))?;
    let editor = std::env::var("SOPS_EDITOR")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("ferry-editor")
        .arg(&shm.file)
        .status()
        .with_context(|| format!("running editor {editor:?}"))?;
    if !status.success() {
        bail!("{name}: editor exited with {status}; file not changed");
    }
    let edited = zeroize::Zeroizing::new(
        std::fs::read(&shm.file).with_context(|| format!("{}", shm.file.display()))?,
    );
    drop(shm);
    if edited.as_slice() == original.as_bytes() {
        eprintln!("{name}: file has not changed, not writing");
        return Ok(ExitCode::SUCCESS);
    }
    let docs = parse_documents(&name, &edited, format)
        .context("the edited file is invalid; nothing was written")?;
    let text = match existing.as_mut() {
        Some(plain) => {
            let old = std::mem::replace(plain.documents_mut(), docs);
            for mut d in old {
                sops::wipe(&mut d);
            }
            plain.encrypt()?
        }
        None => {
            let opts = new_opts.ok_or_else(|| anyhow!("{name}: no encryption options"))?;
            encrypt_documents(&name, docs, format, &opts, &kr)?
        }
    };
    write_atomic(file, text.as_bytes())?;
    tracing::debug!(file = %name, "edited");
    Ok(ExitCode::SUCCESS)
}
