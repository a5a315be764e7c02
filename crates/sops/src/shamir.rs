//! Shamir secret sharing over GF(2^8) as sops uses it (Vault's scheme): each share is the
//! polynomial values followed by one byte holding its x coordinate.

use rand::RngCore;
use zeroize::Zeroizing;

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn gf_inv(a: u8) -> u8 {
    // a^254 = a^-1 in GF(2^8).
    let mut r = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 != 0 {
            r = gf_mul(r, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    r
}

/// Splits `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, String> {
    if parts < threshold || threshold < 2 || parts > 255 {
        return Err(format!(
            "invalid Shamir parameters: {parts} parts, threshold {threshold}"
        ));
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (1..=parts)
        .map(|x| {
            let mut v = Zeroizing::new(vec![0u8; secret.len() + 1]);
            v[secret.len()] = x as u8;
            v
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold]);
    for (i, &byte) in secret.iter().enumerate() {
        coeffs[0] = byte;
        rand::rngs::OsRng.fill_bytes(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner evaluation.
            let mut y = 0u8;
            for c in coeffs.iter().rev() {
                y = gf_mul(y, x) ^ c;
            }
            share[i] = y;
        }
    }
    Ok(shares)
}

/// Recovers the secret from shares (each `len+1` bytes, x coordinate last).
pub fn combine(shares: &[Zeroizing<Vec<u8>>]) -> Result<Zeroizing<Vec<u8>>, String> {
    if shares.len() < 2 {
        return Err("at least two shares are required".into());
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err("shares have different or invalid lengths".into());
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, a) in xs.iter().enumerate() {
        if xs[i + 1..].contains(a) {
            return Err("duplicate share".into());
        }
    }
    let mut out = Zeroizing::new(vec![0u8; len - 1]);
    for (i, share) in shares.iter().enumerate() {
        // Lagrange basis at x = 0.
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = gf_mul(basis, gf_mul(xj, gf_inv(xs[i] ^ xj)));
            }
        }
        for (o, &y) in out.iter_mut().zip(share[..len - 1].iter()) {
            *o ^= gf_mul(y, basis);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_combine() {
        let secret = [42u8; 32];
        let shares = split(&secret, 3, 2).unwrap();
        assert_eq!(shares[0].len(), 33);
        for pair in [[0, 1], [1, 2], [0, 2]] {
            let s = vec![shares[pair[0]].clone(), shares[pair[1]].clone()];
            assert_eq!(&combine(&s).unwrap()[..], &secret[..]);
        }
        assert!(gf_mul(gf_inv(7), 7) == 1);
    }
}
