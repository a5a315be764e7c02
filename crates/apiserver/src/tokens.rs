//! Service-account tokens (`kubectl create token`): `ferry-sa.<claims>.<signature>`, the
//! claims (namespace, name, uid of the ServiceAccount, expiry) signed with HMAC-SHA256 under
//! a key derived from the cluster's admin token, so tokens survive restarts and die with
//! their ServiceAccount. Every authenticated user is an administrator (ferry has no RBAC).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "ferry-sa.";

/// What a token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// Name of the ServiceAccount.
    pub name: String,
    /// uid of the ServiceAccount the token was issued for.
    pub uid: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

fn key(secret: &str) -> ring::hmac::Key {
    ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        format!("ferry service-account tokens\0{secret}").as_bytes(),
    )
}

/// Issues a token for `claims`.
pub fn issue(secret: &str, claims: &Claims) -> String {
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = ring::hmac::sign(&key(secret), payload.as_bytes());
    format!("{PREFIX}{payload}.{}", B64.encode(sig.as_ref()))
}

/// The claims of a valid, unexpired token.
pub fn verify(secret: &str, token: &str, now: i64) -> Option<Claims> {
    let (payload, sig) = token.strip_prefix(PREFIX)?.split_once('.')?;
    let sig = B64.decode(sig).ok()?;
    ring::hmac::verify(&key(secret), payload.as_bytes(), &sig).ok()?;
    let claims: Claims = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (claims.exp > now).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_only_under_their_key() {
        let c = Claims {
            namespace: "t".into(),
            name: "robot".into(),
            uid: "u-1".into(),
            exp: 1_000,
        };
        let tok = issue("secret", &c);
        assert_eq!(verify("secret", &tok, 999), Some(c));
        assert_eq!(verify("secret", &tok, 1_000), None);
        assert_eq!(verify("other", &tok, 0), None);
        let forged = tok.replacen("ferry-sa.", "ferry-sa.x", 1);
        assert_eq!(verify("secret", &forged, 0), None);
    }
}
