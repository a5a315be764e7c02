//! Sprig's crypto functions: hashes, bcrypt/htpasswd, derivePassword, AES-CBC, random
//! strings and bytes, UUIDs, private keys and x509 certificates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use gotmpl::{FuncError, FuncMap, Map, Object, Type as T, Value};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::encoding::{b64_decode, b64_encode};
use crate::{arg_i, arg_s, fixed, reg};

mod rsagen;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Go's `hash/adler32`.
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn bcrypt_hash(input: &str) -> String {
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(input, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const TEMPLATES: &[(&str, &[&str])] = &[
    ("maximum", &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"]),
    (
        "long",
        &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
    ),
    ("medium", &["CvcnoCvc", "CvcCvcno"]),
    ("short", &["Cvcn"]),
    ("basic", &["aaanaaan", "aannaaan", "aaannaaa"]),
    ("pin", &["nnnn"]),
];

fn template_chars(c: u8) -> &'static str {
    match c {
        b'V' => "AEIOU",
        b'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => "aeiou",
        b'c' => "bcdfghjklmnpqrstvwxyz",
        b'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => "0123456789",
        b'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => "",
    }
}

/// Sprig's `derivePassword` (Master Password algorithm).
pub fn derive_password(
    counter: u32,
    ptype: &str,
    password: &str,
    user: &str,
    site: &str,
) -> String {
    let Some((_, templates)) = TEMPLATES.iter().find(|(n, _)| *n == ptype) else {
        return format!("cannot find password template {ptype}");
    };
    const SEED: &str = "com.lyndir.masterpassword";
    let mut salt = SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return "failed to derive password".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let temp = templates[seed[0] as usize % templates.len()].as_bytes();
    temp.iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(*c).as_bytes();
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let p = password.as_bytes();
    let n = p.len().min(32);
    key[..n].copy_from_slice(&p[..n]);
    key
}

/// Sprig's `encryptAES`.
pub fn encrypt_aes(password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let key = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut iv = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut iv);
    let mut enc = Aes256CbcEnc::new(&key.into(), &iv.into());
    for block in content.chunks_mut(16) {
        enc.encrypt_block_mut(block.into());
    }
    let mut out = iv.to_vec();
    out.extend(content);
    b64_encode(&out)
}

/// Sprig's `decryptAES`; `Err` is the Go error (or panic) text.
pub fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let key = aes_key(password);
    let crypt = b64_decode(crypt64)?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let mut data = body.to_vec();
    let mut dec = Aes256CbcDec::new(&key.into(), iv.into());
    for block in data.chunks_mut(16) {
        dec.decrypt_block_mut(block.into());
    }
    if data.is_empty() {
        return Err("runtime error: index out of range [-1]".into());
    }
    let pad = *data.last().unwrap_or(&0) as usize;
    if pad > data.len() {
        return Err(format!(
            "runtime error: slice bounds out of range [:{}]",
            data.len() as i64 - pad as i64
        ));
    }
    Ok(String::from_utf8_lossy(&data[..data.len() - pad]).into_owned())
}

/// goutils `CryptoRandom` for the sets Sprig uses.
fn random_string(count: i64, set: &[u8]) -> String {
    if count <= 0 {
        return String::new();
    }
    let mut rng = rand::thread_rng();
    (0..count)
        .map(|_| set[rng.gen_range(0..set.len())] as char)
        .collect()
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// ---------------------------------------------------------------------------------------
// Minimal DER writing and reading.

fn der_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn der_uint(be: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = be.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

fn oid(s: &str) -> Vec<u8> {
    let arcs: Vec<u64> = s.split('.').filter_map(|x| x.parse().ok()).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut tmp = vec![(a & 0x7f) as u8];
        let mut v = a >> 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        body.extend(tmp);
    }
    tlv(0x06, &body)
}

fn bitstring(bytes: &[u8], unused: u8) -> Vec<u8> {
    let mut c = vec![unused];
    c.extend_from_slice(bytes);
    tlv(0x03, &c)
}

/// Read one TLV: (tag, content, rest).
fn der_read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > b.len() {
        return None;
    }
    Some((tag, &b[hdr..end], &b[end..]))
}

// ---------------------------------------------------------------------------------------
// PEM.

fn pem_encode(ty: &str, der: &[u8]) -> String {
    let b = b64_encode(der);
    let mut out = format!("-----BEGIN {ty}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {ty}-----\n"));
    out
}

/// Go's `pem.Decode` (first block): (type, bytes).
fn pem_decode(s: &str) -> Option<(String, Vec<u8>)> {
    let start = s.find("-----BEGIN ")?;
    let rest = &s[start + 11..];
    let tend = rest.find("-----")?;
    let ty = &rest[..tend];
    if ty.contains('\n') {
        return None;
    }
    let body = &rest[tend + 5..];
    let end_marker = format!("-----END {ty}-----");
    let bend = body.find(&end_marker)?;
    let mut text = &body[..bend];
    // skip headers (lines with ':') when present
    if let Some(p) = text.find("\n\n")
        && text[..p].contains(':')
    {
        text = &text[p + 2..];
    }
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = b64_decode(&clean).ok()?;
    Some((ty.to_string(), der))
}

// ---------------------------------------------------------------------------------------
// Keys.

enum PrivKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
    Ed(ed25519_dalek::SigningKey),
    Dsa(Vec<u8>),
}

impl PrivKey {
    fn pem(&self) -> Result<String, String> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        match self {
            PrivKey::Rsa(k) => k
                .to_pkcs1_der()
                .map(|d| pem_encode("RSA PRIVATE KEY", d.as_bytes()))
                .map_err(|e| e.to_string()),
            PrivKey::Ec(k) => {
                // Go's MarshalECPrivateKey: version 1, the scalar, the named curve and the
                // uncompressed public point.
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                let point = k.public_key().to_encoded_point(false);
                let der = seq(&[
                    der_uint(&[1]),
                    tlv(0x04, &k.to_bytes()),
                    tlv(0xa0, &oid("1.2.840.10045.3.1.7")),
                    tlv(0xa1, &bitstring(point.as_bytes(), 0)),
                ]);
                Ok(pem_encode("EC PRIVATE KEY", &der))
            }
            PrivKey::Ed(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                let kp = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: k.to_bytes(),
                    public_key: None,
                };
                kp.to_pkcs8_der()
                    .map(|d| pem_encode("PRIVATE KEY", d.as_bytes()))
                    .map_err(|e| e.to_string())
            }
            PrivKey::Dsa(der) => Ok(pem_encode("DSA PRIVATE KEY", der)),
        }
    }

    fn spki(&self) -> Result<Vec<u8>, String> {
        use rsa::pkcs8::EncodePublicKey;
        match self {
            PrivKey::Rsa(k) => k
                .to_public_key()
                .to_public_key_der()
                .map(|d| d.into_vec())
                .map_err(|e| e.to_string()),
            PrivKey::Ec(k) => k
                .public_key()
                .to_public_key_der()
                .map(|d| d.into_vec())
                .map_err(|e| e.to_string()),
            PrivKey::Ed(k) => k
                .verifying_key()
                .to_public_key_der()
                .map(|d| d.into_vec())
                .map_err(|e| e.to_string()),
            PrivKey::Dsa(_) => Err("x509: unsupported public key type: *dsa.PublicKey".into()),
        }
    }

    fn sig_alg(&self) -> Vec<u8> {
        match self {
            PrivKey::Rsa(_) => seq(&[oid("1.2.840.113549.1.1.11"), vec![0x05, 0x00]]),
            PrivKey::Ec(_) => seq(&[oid("1.2.840.10045.4.3.2")]),
            PrivKey::Ed(_) | PrivKey::Dsa(_) => seq(&[oid("1.3.101.112")]),
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use rsa::signature::{SignatureEncoding, Signer};
        match self {
            PrivKey::Rsa(k) => {
                let sk = rsa::pkcs1v15::SigningKey::<Sha256>::new((**k).clone());
                Ok(sk.try_sign(msg).map_err(|e| e.to_string())?.to_vec())
            }
            PrivKey::Ec(k) => {
                let sk = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature = sk.try_sign(msg).map_err(|e| e.to_string())?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivKey::Ed(k) => Ok(k.sign(msg).to_bytes().to_vec()),
            PrivKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }
}

fn gen_rsa(bits: usize) -> Result<PrivKey, String> {
    rsagen::generate(&mut rand::thread_rng(), bits).map(|k| PrivKey::Rsa(Box::new(k)))
}

fn gen_dsa() -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let comps = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
    let sk = dsa::SigningKey::generate(&mut rng, comps);
    let vk = sk.verifying_key();
    let c = vk.components();
    seq(&[
        der_uint(&[0]),
        der_uint(&c.p().to_bytes_be()),
        der_uint(&c.q().to_bytes_be()),
        der_uint(&c.g().to_bytes_be()),
        der_uint(&vk.y().to_bytes_be()),
        der_uint(&sk.x().to_bytes_be()),
    ])
}

/// Sprig's `genPrivateKey`.
fn generate_private_key(typ: &str) -> String {
    let key = match typ {
        "" | "rsa" => gen_rsa(4096),
        "dsa" => Ok(PrivKey::Dsa(gen_dsa())),
        "ecdsa" => Ok(PrivKey::Ec(
            p256::SecretKey::random(&mut rand::thread_rng()),
        )),
        "ed25519" => Ok(PrivKey::Ed(ed25519_dalek::SigningKey::generate(
            &mut rand::thread_rng(),
        ))),
        _ => return format!("Unknown type {typ}"),
    };
    match key.and_then(|k| k.pem()) {
        Ok(p) => p,
        Err(e) => format!("failed to generate private key: {e}"),
    }
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_private_key(pem: &str) -> Result<PrivKey, String> {
    let (ty, der) = pem_decode(pem).ok_or("no PEM data in input")?;
    if ty == "PRIVATE KEY" {
        use rsa::pkcs8::DecodePrivateKey;
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ec(k));
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
            return Ok(PrivKey::Ed(k));
        }
        return Err("decoding PEM as PKCS#8: x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)".into());
    }
    let Some(kind) = ty.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {ty}"));
    };
    match kind {
        "RSA" => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| PrivKey::Rsa(Box::new(k)))
                .map_err(|_| "parsing RSA private key from PEM: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".into())
        }
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(PrivKey::Ec)
            .map_err(|_| {
                "parsing EC private key from PEM: x509: failed to parse EC private key".into()
            }),
        "DSA" => {
            let ok = der_read(&der).and_then(|(tag, mut body, _)| {
                if tag != 0x30 {
                    return None;
                }
                for _ in 0..6 {
                    let (t, _, rest) = der_read(body)?;
                    if t != 0x02 {
                        return None;
                    }
                    body = rest;
                }
                Some(())
            });
            match ok {
                Some(()) => Ok(PrivKey::Dsa(der)),
                None => Err("parsing DSA private key from PEM: asn1: structure error".into()),
            }
        }
        _ => Err(format!("invalid private key type {ty}")),
    }
}

// ---------------------------------------------------------------------------------------
// Certificates.

/// Sprig's `certificate` struct.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.clone())),
            "Key" => Some(Value::from(self.key.clone())),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = Map::new();
        m.insert("Cert".into(), Value::from(self.cert.clone()));
        m.insert("Key".into(), Value::from(self.key.clone()));
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn name_cn(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let printable = cn
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&c));
    let val = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[tlv(0x31, &seq(&[oid("2.5.4.3"), val]))])
}

fn der_time(t: SystemTime) -> Vec<u8> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let g = crate::date::GoTime {
        secs,
        nsec: 0,
        loc: crate::date::Loc::Utc,
        mono: None,
    };
    let year: i64 = g.format("2006").parse().unwrap_or(2000);
    if (1950..2050).contains(&year) {
        tlv(0x17, g.format("060102150405Z").as_bytes())
    } else {
        tlv(0x18, g.format("20060102150405Z").as_bytes())
    }
}

struct Parent {
    subject: Vec<u8>,
    ski: Option<Vec<u8>>,
}

struct Template {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn get_ips(v: &Value) -> Result<Vec<Vec<u8>>, String> {
    let items = match v {
        Value::List(l) => l.items.clone(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for ip in items {
        let Value::String(s) = &ip else {
            return Err(format!(
                "error parsing ip: {} is not a string",
                crate::gofmt::sprint(&ip)
            ));
        };
        match s.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => out.push(a.octets().to_vec()),
            Ok(std::net::IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => out.push(v4.octets().to_vec()),
                None => out.push(a.octets().to_vec()),
            },
            Err(_) => return Err(format!("error parsing ip: {s}")),
        }
    }
    Ok(out)
}

fn get_dns(v: &Value) -> Result<Vec<String>, String> {
    let items = match v {
        Value::List(l) => l.items.clone(),
        _ => Vec::new(),
    };
    items
        .iter()
        .map(|d| match d {
            Value::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "error processing alternate dns name: {} is not a string",
                crate::gofmt::sprint(other)
            )),
        })
        .collect()
}

fn ext(id: &str, critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, &value));
    seq(&parts)
}

/// Go's `x509.CreateCertificate` for Sprig's templates; returns (cert PEM, key PEM).
fn create_cert(
    t: &Template,
    signee: &PrivKey,
    parent: Option<&Parent>,
    signer: &PrivKey,
) -> Result<(String, String), String> {
    let wrap = |e: String| format!("error creating certificate: {e}");
    if let PrivKey::Dsa(_) = signer {
        return Err(wrap(
            "x509: certificate private key does not implement crypto.Signer".into(),
        ));
    }
    let spki = signee.spki().map_err(wrap)?;
    let subject = name_cn(&t.cn);
    let issuer = parent
        .map(|p| p.subject.clone())
        .unwrap_or_else(|| subject.clone());
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    let now = SystemTime::now();
    let not_after = if t.days >= 0 {
        now + Duration::from_secs(t.days as u64 * 86400)
    } else {
        now - Duration::from_secs(t.days.unsigned_abs() * 86400)
    };
    // subjectPublicKey bits, for the key identifier
    let pub_bits = der_read(&spki)
        .and_then(|(_, body, _)| der_read(body))
        .and_then(|(_, _, rest)| der_read(rest))
        .map(|(_, bits, _)| bits.get(1..).unwrap_or(&[]).to_vec())
        .unwrap_or_default();
    let mut exts = Vec::new();
    let ku: u8 = if t.is_ca { 0xA4 } else { 0xA0 };
    exts.push(ext(
        "2.5.29.15",
        true,
        bitstring(&[ku], if t.is_ca { 2 } else { 5 }),
    ));
    exts.push(ext(
        "2.5.29.37",
        false,
        seq(&[oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")]),
    ));
    exts.push(ext(
        "2.5.29.19",
        true,
        if t.is_ca {
            seq(&[vec![0x01, 0x01, 0xff]])
        } else {
            seq(&[])
        },
    ));
    let ski = if t.is_ca {
        Some(Sha1::digest(&pub_bits).to_vec())
    } else {
        None
    };
    if let Some(s) = &ski {
        exts.push(ext("2.5.29.14", false, tlv(0x04, s)));
    }
    if let Some(p) = parent
        && p.subject != subject
        && let Some(aki) = &p.ski
    {
        exts.push(ext("2.5.29.35", false, seq(&[tlv(0x80, aki)])));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = t.dns.iter().map(|d| tlv(0x82, d.as_bytes())).collect();
        names.extend(t.ips.iter().map(|ip| tlv(0x87, ip)));
        exts.push(ext("2.5.29.17", false, seq(&names)));
    }
    let sig_alg = signer.sig_alg();
    let tbs = seq(&[
        tlv(0xa0, &der_uint(&[2])),
        der_uint(&serial),
        sig_alg.clone(),
        issuer,
        seq(&[der_time(now), der_time(not_after)]),
        subject,
        spki,
        tlv(0xa3, &seq(&exts)),
    ]);
    let sig = signer.sign(&tbs).map_err(wrap)?;
    let cert = seq(&[tbs, sig_alg, bitstring(&sig, 0)]);
    let key_pem = signee
        .pem()
        .map_err(|e| format!("error pem-encoding key: {e}"))?;
    Ok((pem_encode("CERTIFICATE", &cert), key_pem))
}

/// Parse a PEM certificate: (subject DER, subject key identifier).
fn parse_cert(pem: &str) -> Result<Parent, String> {
    use x509_cert::der::{Decode, Encode};
    let (_, der) = pem_decode(pem).ok_or("unable to decode certificate")?;
    let c = x509_cert::Certificate::from_der(&der).map_err(|e| {
        format!(
            "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate ({e})"
        )
    })?;
    let subject = c
        .tbs_certificate
        .subject
        .to_der()
        .map_err(|e| e.to_string())?;
    let ski = c.tbs_certificate.extensions.as_ref().and_then(|exts| {
        exts.iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.14")
            .and_then(|e| der_read(e.extn_value.as_bytes()).map(|(_, v, _)| v.to_vec()))
    });
    Ok(Parent { subject, ski })
}

fn cert_value(r: Result<(String, String), String>) -> Result<Value, FuncError> {
    r.map(|(cert, key)| Value::object(Certificate { cert, key }))
        .map_err(FuncError::new)
}

fn need_cert(v: &Value) -> Result<Certificate, FuncError> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<Certificate>().cloned(),
        _ => None,
    }
    .ok_or_else(|| {
        FuncError::raw(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            v.type_name()
        ))
    })
}

fn template(a: &[Value], is_ca: bool) -> Result<Template, String> {
    if is_ca {
        return Ok(Template {
            cn: arg_s(&a[0]).into_owned(),
            ips: Vec::new(),
            dns: Vec::new(),
            days: arg_i(&a[1]),
            is_ca,
        });
    }
    Ok(Template {
        cn: arg_s(&a[0]).into_owned(),
        ips: get_ips(&a[1])?,
        dns: get_dns(&a[2])?,
        days: arg_i(&a[3]),
        is_ca,
    })
}

fn rsa2048() -> Result<PrivKey, String> {
    gen_rsa(2048).map_err(|e| format!("error generating rsa key: {e}"))
}

/// Sprig's `certificate` struct as a parameter type.
const CERT: T = T::Object("sprig.certificate");

fn signed(a: &[Value], key: Option<&Value>) -> Result<Value, FuncError> {
    let ca = need_cert(&a[4])?;
    let priv_key = match key {
        Some(k) => parse_private_key(&arg_s(k))
            .map_err(|e| FuncError::new(format!("parsing private key: {e}")))?,
        None => rsa2048().map_err(FuncError::new)?,
    };
    let r = (|| {
        let parent = parse_cert(&ca.cert)?;
        let signer =
            parse_private_key(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
        let t = template(a, false)?;
        create_cert(&t, &priv_key, Some(&parent), &signer)
    })();
    cert_value(r)
}

pub fn register(m: &mut FuncMap) {
    reg(m, "sha1sum", fixed(&[T::String]), |a| {
        Ok(Value::from(hex(&Sha1::digest(arg_s(&a[0]).as_bytes()))))
    });
    reg(m, "sha256sum", fixed(&[T::String]), |a| {
        Ok(Value::from(hex(&Sha256::digest(arg_s(&a[0]).as_bytes()))))
    });
    reg(m, "sha512sum", fixed(&[T::String]), |a| {
        Ok(Value::from(hex(&Sha512::digest(arg_s(&a[0]).as_bytes()))))
    });
    reg(m, "adler32sum", fixed(&[T::String]), |a| {
        Ok(Value::from(adler32(arg_s(&a[0]).as_bytes()).to_string()))
    });
    reg(m, "bcrypt", fixed(&[T::String]), |a| {
        Ok(Value::from(bcrypt_hash(&arg_s(&a[0]))))
    });
    reg(m, "htpasswd", fixed(&[T::String, T::String]), |a| {
        let user = arg_s(&a[0]);
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        Ok(Value::from(format!(
            "{user}:{}",
            bcrypt_hash(&arg_s(&a[1]))
        )))
    });
    reg(
        m,
        "derivePassword",
        fixed(&[T::Uint32, T::String, T::String, T::String, T::String]),
        |a| {
            Ok(Value::from(derive_password(
                arg_i(&a[0]) as u32,
                &arg_s(&a[1]),
                &arg_s(&a[2]),
                &arg_s(&a[3]),
                &arg_s(&a[4]),
            )))
        },
    );
    reg(m, "encryptAES", fixed(&[T::String, T::String]), |a| {
        Ok(Value::from(encrypt_aes(&arg_s(&a[0]), &arg_s(&a[1]))))
    });
    reg(m, "decryptAES", fixed(&[T::String, T::String]), |a| {
        decrypt_aes(&arg_s(&a[0]), &arg_s(&a[1]))
            .map(Value::from)
            .map_err(FuncError::new)
    });
    reg(m, "randBytes", fixed(&[T::Int]), |a| {
        let n = arg_i(&a[0]);
        if n < 0 {
            return Err(FuncError::new("runtime error: makeslice: len out of range"));
        }
        let mut buf = vec![0u8; n as usize];
        rand::thread_rng().fill_bytes(&mut buf);
        Ok(Value::from(b64_encode(&buf)))
    });
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    reg(m, "randAlphaNum", fixed(&[T::Int]), |a| {
        Ok(Value::from(random_string(arg_i(&a[0]), ALNUM)))
    });
    reg(m, "randAlpha", fixed(&[T::Int]), |a| {
        Ok(Value::from(random_string(arg_i(&a[0]), &ALNUM[..52])))
    });
    reg(m, "randNumeric", fixed(&[T::Int]), |a| {
        Ok(Value::from(random_string(arg_i(&a[0]), &ALNUM[52..])))
    });
    reg(m, "randAscii", fixed(&[T::Int]), |a| {
        let set: Vec<u8> = (32u8..=126).collect();
        Ok(Value::from(random_string(arg_i(&a[0]), &set)))
    });
    reg(m, "uuidv4", fixed(&[]), |_| Ok(Value::from(uuid_v4())));
    reg(m, "genPrivateKey", fixed(&[T::String]), |a| {
        Ok(Value::from(generate_private_key(&arg_s(&a[0]))))
    });
    reg(m, "buildCustomCert", fixed(&[T::String, T::String]), |a| {
        let cert = b64_decode(&arg_s(&a[0]))
            .map_err(|_| FuncError::new("unable to decode base64 certificate"))?;
        let key = b64_decode(&arg_s(&a[1]))
            .map_err(|_| FuncError::new("unable to decode base64 private key"))?;
        let (cert, key) = (
            String::from_utf8_lossy(&cert).into_owned(),
            String::from_utf8_lossy(&key).into_owned(),
        );
        if pem_decode(&cert).is_none() {
            return Err(FuncError::new("unable to decode certificate"));
        }
        parse_cert(&cert)
            .map_err(|e| FuncError::new(e.replace("decodedSignerCert", "decodedCert")))?;
        parse_private_key(&key)
            .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
        Ok(Value::object(Certificate { cert, key }))
    });
    reg(m, "genCA", fixed(&[T::String, T::Int]), |a| {
        let k = rsa2048().map_err(FuncError::new)?;
        cert_value(template(a, true).and_then(|t| create_cert(&t, &k, None, &k)))
    });
    reg(
        m,
        "genCAWithKey",
        fixed(&[T::String, T::Int, T::String]),
        |a| {
            let k = parse_private_key(&arg_s(&a[2]))
                .map_err(|e| FuncError::new(format!("parsing private key: {e}")))?;
            cert_value(template(a, true).and_then(|t| create_cert(&t, &k, None, &k)))
        },
    );
    reg(
        m,
        "genSelfSignedCert",
        fixed(&[T::String, T::List, T::List, T::Int]),
        |a| {
            let k = rsa2048().map_err(FuncError::new)?;
            cert_value(template(a, false).and_then(|t| create_cert(&t, &k, None, &k)))
        },
    );
    reg(
        m,
        "genSelfSignedCertWithKey",
        fixed(&[T::String, T::List, T::List, T::Int, T::String]),
        |a| {
            let k = parse_private_key(&arg_s(&a[4]))
                .map_err(|e| FuncError::new(format!("parsing private key: {e}")))?;
            cert_value(template(a, false).and_then(|t| create_cert(&t, &k, None, &k)))
        },
    );
    reg(
        m,
        "genSignedCert",
        fixed(&[T::String, T::List, T::List, T::Int, CERT]),
        |a| signed(a, None),
    );
    reg(
        m,
        "genSignedCertWithKey",
        fixed(&[T::String, T::List, T::List, T::Int, CERT, T::String]),
        |a| signed(a, Some(&a[5])),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_passwords() {
        assert_eq!(adler32(b"hello"), 103547413);
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com"),
            "ZedaFaxcZaso9*"
        );
        let h = bcrypt_hash("x");
        assert!(h.starts_with("$2a$10$") && h.len() == 60);
        let enc = encrypt_aes("secretkey", "plaintext");
        assert_eq!(enc.len(), 44);
        assert_eq!(decrypt_aes("secretkey", &enc).unwrap(), "plaintext");
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn keys_and_certs() {
        let ec = generate_private_key("ecdsa");
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        let ed = generate_private_key("ed25519");
        assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(generate_private_key("bogus"), "Unknown type bogus");
        let k = parse_private_key(&ec).unwrap();
        let t = Template {
            cn: "ca".into(),
            ips: vec![],
            dns: vec![],
            days: 3,
            is_ca: true,
        };
        let (cert, key) = create_cert(&t, &k, None, &k).unwrap();
        assert_eq!(key, ec);
        let parent = parse_cert(&cert).unwrap();
        assert!(parent.ski.is_some());
        let leaf = parse_private_key(&ed).unwrap();
        let t = Template {
            cn: "leaf".into(),
            ips: vec![vec![10, 0, 0, 1]],
            dns: vec!["a.example".into()],
            days: 1,
            is_ca: false,
        };
        let (lc, _) = create_cert(&t, &leaf, Some(&parent), &k).unwrap();
        assert!(parse_cert(&lc).is_ok());
        assert!(parse_private_key("nope").is_err());
    }
}
