//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format: AES-256-GCM with a 32-byte
//! nonce and the key path as additional data, plus the IV stash that keeps unchanged values
//! byte-identical on re-encryption.

use std::collections::HashMap;

use aes_gcm::aead::consts::U32;
use aes_gcm::aes::Aes256;
use aes_gcm::{AeadInOut, AesGcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

type Gcm32 = AesGcm<Aes256, U32>;

/// The 32-byte data key of a sops file. Zeroed on drop; Debug is redacted.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut k[..]);
        DataKey(k)
    }

    /// From raw bytes (must be 32).
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The parts of an `ENC[...]` value.
pub struct EncValue {
    /// Ciphertext without tag.
    pub data: Vec<u8>,
    /// Nonce.
    pub iv: Vec<u8>,
    /// GCM tag (16 bytes).
    pub tag: Vec<u8>,
    /// sops type name.
    pub typ: String,
}

/// Splits `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` like sops' regex
/// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy groups, `.` excludes
/// line breaks), without a regex engine (this runs once per value).
fn split_enc(s: &str) -> Option<[&str; 4]> {
    let rest = s.strip_prefix("ENC[AES256_GCM,data:")?;
    let line = rest.split('\n').next().unwrap_or(rest);
    let close = line.rfind(']')?;
    let body = &line[..close];
    let t = body.rfind(",type:")?;
    let typ = &body[t + 6..];
    let before = &body[..t];
    let g = before.rfind(",tag:")?;
    let tag = &before[g + 5..];
    let before = &before[..g];
    let i = before.rfind(",iv:")?;
    let iv = &before[i + 4..];
    let data = &before[..i];
    if [data, iv, tag, typ].iter().any(|x| x.is_empty()) {
        return None;
    }
    Some([data, iv, tag, typ])
}

/// Whether a string looks like an encrypted value.
pub fn is_encrypted(s: &str) -> bool {
    split_enc(s).is_some()
}

/// Parses an `ENC[...]` string.
pub fn parse(s: &str) -> Result<EncValue, String> {
    let [data, iv, tag, typ] =
        split_enc(s).ok_or_else(|| "not in sops' ENC[AES256_GCM,...] format".to_string())?;
    let dec = |x: &str, what: &str| {
        STANDARD
            .decode(x)
            .map_err(|e| format!("invalid base64 in {what}: {e}"))
    };
    Ok(EncValue {
        data: dec(data, "data")?,
        iv: dec(iv, "iv")?,
        tag: dec(tag, "tag")?,
        typ: typ.to_string(),
    })
}

/// Why a value failed to decrypt.
#[derive(Debug)]
pub enum DecryptFail {
    /// Malformed value.
    Format(String),
    /// Authentication failed.
    Auth,
}

/// A decrypted value: (plaintext, sops type, IV).
pub type Decrypted = (Zeroizing<Vec<u8>>, String, [u8; 32]);

/// Decrypts an `ENC[...]` string; returns (plaintext, type, IV).
pub fn decrypt(key: &DataKey, s: &str, aad: &str) -> Result<Decrypted, DecryptFail> {
    let v = parse(s).map_err(DecryptFail::Format)?;
    if v.iv.len() != 32 {
        return Err(DecryptFail::Format(format!(
            "unsupported IV length {} (sops uses 32 bytes)",
            v.iv.len()
        )));
    }
    if v.tag.len() != 16 {
        return Err(DecryptFail::Format("GCM tag must be 16 bytes".into()));
    }
    let cipher = Gcm32::new_from_slice(key.as_bytes())
        .map_err(|_| DecryptFail::Format("bad key length".into()))?;
    let nonce = aes_gcm::Nonce::<U32>::try_from(&v.iv[..])
        .map_err(|_| DecryptFail::Format("bad IV".into()))?;
    let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(&v.tag[..])
        .map_err(|_| DecryptFail::Format("bad tag".into()))?;
    let mut buf = Zeroizing::new(v.data);
    cipher
        .decrypt_inout_detached(&nonce, aad.as_bytes(), buf.as_mut_slice().into(), &tag)
        .map_err(|_| DecryptFail::Auth)?;
    let mut iv = [0u8; 32];
    iv.copy_from_slice(&v.iv);
    Ok((buf, v.typ, iv))
}

/// Encrypts `plaintext` of sops type `typ` with the given IV.
pub fn encrypt(key: &DataKey, plaintext: &[u8], aad: &str, typ: &str, iv: &[u8; 32]) -> String {
    let cipher = match Gcm32::new_from_slice(key.as_bytes()) {
        Ok(c) => c,
        Err(_) => unreachable!("data keys are always 32 bytes"),
    };
    let nonce = aes_gcm::Nonce::<U32>::from(*iv);
    let mut buf = Zeroizing::new(plaintext.to_vec());
    let tag = match cipher.encrypt_inout_detached(&nonce, aad.as_bytes(), buf.as_mut_slice().into())
    {
        Ok(t) => t,
        Err(_) => unreachable!("AES-GCM encryption of in-memory data cannot fail"),
    };
    let out = format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{typ}]",
        STANDARD.encode(&buf[..]),
        STANDARD.encode(iv),
        STANDARD.encode(tag.as_slice()),
    );
    buf.zeroize();
    out
}

/// Remembers the IV of each decrypted (value, key path) so re-encrypting an unchanged value
/// gives the same ciphertext. Keys are digests, never plaintext.
#[derive(Default, Clone)]
pub struct IvStash(HashMap<[u8; 32], [u8; 32]>);

impl std::fmt::Debug for IvStash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IvStash({} entries)", self.0.len())
    }
}

impl IvStash {
    fn digest(plaintext: &[u8], typ: &str, aad: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((aad.len() as u64).to_be_bytes());
        h.update(aad.as_bytes());
        h.update((typ.len() as u64).to_be_bytes());
        h.update(typ.as_bytes());
        h.update(plaintext);
        h.finalize().into()
    }

    /// Records the IV a value was decrypted with.
    pub fn remember(&mut self, plaintext: &[u8], typ: &str, aad: &str, iv: [u8; 32]) {
        self.0.insert(Self::digest(plaintext, typ, aad), iv);
    }

    /// The IV to use for this value: the remembered one, or a fresh random one.
    pub fn iv_for(&self, plaintext: &[u8], typ: &str, aad: &str) -> [u8; 32] {
        if let Some(iv) = self.0.get(&Self::digest(plaintext, typ, aad)) {
            return *iv;
        }
        let mut iv = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut iv);
        iv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aad() {
        let k = DataKey::generate();
        let iv = [7u8; 32];
        let e = encrypt(&k, b"v1.2.3", "app:image:tag:", "str", &iv);
        assert!(is_encrypted(&e));
        let (p, t, got_iv) = decrypt(&k, &e, "app:image:tag:").unwrap();
        assert_eq!(&p[..], b"v1.2.3");
        assert_eq!(t, "str");
        assert_eq!(got_iv, iv);
        assert!(matches!(
            decrypt(&k, &e, "app:image:"),
            Err(DecryptFail::Auth)
        ));
        // One-byte plaintext gives one byte of data.
        let e = encrypt(&k, b"3", "x:", "int", &iv);
        let v = parse(&e).unwrap();
        assert_eq!(v.data.len(), 1);
        assert_eq!(v.iv.len(), 32);
    }
}
