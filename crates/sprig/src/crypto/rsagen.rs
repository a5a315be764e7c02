//! RSA key generation for `genPrivateKey "rsa"` (4096 bits) and the RSA-2048 keys of `genCA`,
//! `genSelfSignedCert` and `genSignedCert`.
//!
//! The keys have the shape of Go's `crypto/rsa.GenerateKey` (FIPS 186-5 A.1.3): two primes of
//! `bits/2` bits each with the two top bits set (so `n` has exactly `bits` bits),
//! `e = 65537`, `gcd(e, p−1) = gcd(e, q−1) = 1`, `|p − q| > 2^(bits/2 − 100)`,
//! `d = e⁻¹ mod λ(n)` with `d > 2^(bits/2)`. Randomness comes from the thread-local
//! CSPRNG (ChaCha reseeded from the OS).
//!
//! The prime search is the incremental sieve of OpenSSL: a random odd start `x`, the residues
//! of `x` modulo every odd prime below [`SIEVE_BOUND`] computed once, then a window of
//! candidates `x + 2k` sieved by those residues (and by `x + 2k ≡ 1 mod 65537`). Each
//! survivor gets one Miller–Rabin round to base 2 (a fast filter: it never rejects a prime),
//! and a survivor of that gets the Miller–Rabin rounds with uniformly random bases in
//! `[2, w−2]` that Go and BoringSSL use for a random candidate of that size (5 rounds for a
//! 1024-bit prime, 4 for a 2048-bit prime; error probability below 2⁻¹²⁸ for random inputs).
//!
//! Arithmetic is fixed-width Montgomery multiplication over `N` 64-bit limbs (`N = 16` for
//! 1024-bit primes, 32 for 2048-bit ones), with a dedicated squaring and a fixed-window
//! exponentiation. It is not constant time (the table lookups and the exponent's windows
//! depend on the candidate), which is acceptable for rendering templates locally, the only
//! place these keys are made, and is what Go's `math/big`-based key generation did before
//! Go 1.24.

use rand::{CryptoRng, RngCore};
use rsa::{BigUint, RsaPrivateKey};
use std::sync::OnceLock;

/// The public exponent of every generated key (Go's and Sprig's).
const E: u64 = 65537;

/// Odd primes below this bound sieve the candidates before any Miller–Rabin round (primes
/// below [`sieve_bound`] for a given size: the residues of a window cost word divisions that
/// pay off only while they save more Miller–Rabin rounds than they cost).
const SIEVE_BOUND: u32 = 1 << 18;

/// The sieve bound for `N`-limb candidates: 2¹⁶ for 1024-bit primes, 2¹⁸ for 2048-bit ones.
fn sieve_bound(n: usize) -> u32 {
    if n <= 16 { 1 << 16 } else { SIEVE_BOUND }
}

/// Candidates `x + 2k` per sieved window (`k < WINDOW`). A window of 2048-bit numbers holds
/// about 11 primes on average; one without a prime makes a new random start.
const WINDOW: usize = 1 << 13;

/// Generates an RSA private key of `bits` bits (2048 and 4096 by the fast path, other sizes
/// by the `rsa` crate's generator).
pub(super) fn generate<R: CryptoRng + RngCore>(
    rng: &mut R,
    bits: usize,
) -> Result<RsaPrivateKey, String> {
    match bits {
        2048 => generate_n::<16, R>(rng),
        4096 => generate_n::<32, R>(rng),
        _ => RsaPrivateKey::new(rng, bits).map_err(|e| e.to_string()),
    }
}

/// A key whose primes have `N` limbs (`64·N` bits) each.
fn generate_n<const N: usize, R: CryptoRng + RngCore>(
    rng: &mut R,
) -> Result<RsaPrivateKey, String> {
    let half_bits = 64 * N;
    loop {
        let p = random_prime::<N, R>(rng);
        let q = random_prime::<N, R>(rng);
        // FIPS 186-5 A.1.3 step 5.4(b): |p − q| > 2^(nlen/2 − 100).
        let diff = if less(&p, &q) {
            sub(&q, &p).0
        } else {
            sub(&p, &q).0
        };
        if bit_len(&diff) <= half_bits - 100 {
            continue;
        }
        let key = RsaPrivateKey::from_p_q(to_big(&p), to_big(&q), BigUint::from(E))
            .map_err(|e| e.to_string())?;
        // FIPS 186-5 A.1.1: d > 2^(nlen/2); Go retries when it is not (never in practice).
        if key_d_bits(&key) <= half_bits {
            continue;
        }
        return Ok(key);
    }
}

fn key_d_bits(key: &RsaPrivateKey) -> usize {
    use rsa::traits::PrivateKeyParts;
    key.d().bits()
}

fn to_big<const N: usize>(x: &[u64; N]) -> BigUint {
    let mut bytes = Vec::with_capacity(8 * N);
    for limb in x {
        bytes.extend_from_slice(&limb.to_le_bytes());
    }
    BigUint::from_bytes_le(&bytes)
}

/// Go's / BoringSSL's Miller–Rabin rounds for a random candidate of `bits` bits.
fn mr_rounds(bits: usize) -> usize {
    match bits {
        3747.. => 3,
        1345.. => 4,
        476.. => 5,
        400.. => 6,
        347.. => 7,
        308.. => 8,
        55.. => 27,
        _ => 34,
    }
}

/// A random prime of exactly `64·N` bits with its two top bits set and `p mod e ≠ 1`.
fn random_prime<const N: usize, R: CryptoRng + RngCore>(rng: &mut R) -> [u64; N] {
    let sieve = small_primes();
    let mut marks = vec![0u64; WINDOW / 64];
    let mut residues = vec![0u32; sieve.primes.len()];
    let bound = sieve_bound(N);
    loop {
        let mut x = [0u64; N];
        for limb in &mut x {
            *limb = rng.next_u64();
        }
        x[N - 1] |= 0b11 << 62;
        x[0] |= 1;
        // The window must not run past 64·N bits.
        if add_small(&x, 2 * WINDOW as u64).1 {
            continue;
        }
        sieve.residues(&x, bound, &mut residues);
        marks.fill(0);
        for (&p, &r) in sieve
            .primes
            .iter()
            .zip(&residues)
            .take_while(|(p, _)| **p < bound)
        {
            // x + 2k ≡ 0 (mod p)  ⇔  k ≡ −r · 2⁻¹ (mod p).
            let p64 = u64::from(p);
            let k0 = (p64 - u64::from(r)) % p64 * p64.div_ceil(2) % p64;
            mark(&mut marks, k0 as usize, p as usize);
        }
        {
            // x + 2k ≡ 1 (mod e) would make gcd(e, p − 1) = e.
            let r = mod_u32(&x, E as u32);
            let k0 = (E + 1 - u64::from(r)) % E * E.div_ceil(2) % E;
            mark(&mut marks, k0 as usize, E as usize);
        }
        for k in 0..WINDOW {
            if marks[k / 64] >> (k % 64) & 1 != 0 {
                continue;
            }
            let (w, _) = add_small(&x, 2 * k as u64);
            let mont = Mont::new(&w);
            if !mont.mr_base2() {
                continue;
            }
            if mont.mr_random(rng, mr_rounds(64 * N)) {
                return w;
            }
        }
    }
}

fn mark(marks: &mut [u64], mut k: usize, step: usize) {
    while k < WINDOW {
        marks[k / 64] |= 1 << (k % 64);
        k += step;
    }
}

/// The odd primes below [`SIEVE_BOUND`], grouped into products below 2³² so one pass of
/// word divisions over a big number yields the residues of a whole group.
struct SmallPrimes {
    primes: Vec<u32>,
    /// (product, index of the group's first prime, count)
    groups: Vec<(u32, usize, usize)>,
}

fn small_primes() -> &'static SmallPrimes {
    static SP: OnceLock<SmallPrimes> = OnceLock::new();
    SP.get_or_init(|| {
        let bound = SIEVE_BOUND as usize;
        let mut composite = vec![false; bound];
        let mut primes = Vec::new();
        for i in 3..bound {
            if composite[i] || i % 2 == 0 {
                continue;
            }
            primes.push(i as u32);
            let mut j = i * i;
            while j < bound {
                composite[j] = true;
                j += i;
            }
        }
        let mut groups = Vec::new();
        let mut start = 0;
        while start < primes.len() {
            let mut product = 1u64;
            let mut count = 0;
            while start + count < primes.len()
                && product * u64::from(primes[start + count]) < 1 << 32
            {
                product *= u64::from(primes[start + count]);
                count += 1;
            }
            groups.push((product as u32, start, count));
            start += count;
        }
        SmallPrimes { primes, groups }
    })
}

impl SmallPrimes {
    /// The residues of `x` modulo the primes below `bound`.
    fn residues<const N: usize>(&self, x: &[u64; N], bound: u32, out: &mut [u32]) {
        for &(product, start, count) in &self.groups {
            if self.primes[start] >= bound {
                break;
            }
            let r = mod_u32(x, product);
            let range = start..start + count;
            for (slot, &p) in out[range.clone()].iter_mut().zip(&self.primes[range]) {
                *slot = r % p;
            }
        }
    }
}

/// `x mod d` for `d < 2³²`.
fn mod_u32<const N: usize>(x: &[u64; N], d: u32) -> u32 {
    let d = u64::from(d);
    let mut r = 0u64;
    for &limb in x.iter().rev() {
        r = ((r << 32) | (limb >> 32)) % d;
        r = ((r << 32) | (limb & 0xffff_ffff)) % d;
    }
    r as u32
}

fn add_small<const N: usize>(x: &[u64; N], v: u64) -> ([u64; N], bool) {
    let mut out = *x;
    let mut carry = v;
    for limb in &mut out {
        let (s, c) = limb.overflowing_add(carry);
        *limb = s;
        carry = u64::from(c);
        if carry == 0 {
            break;
        }
    }
    (out, carry != 0)
}

/// `a − b` and the borrow out.
fn sub<const N: usize>(a: &[u64; N], b: &[u64; N]) -> ([u64; N], bool) {
    let mut out = [0u64; N];
    let mut borrow = false;
    for i in 0..N {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        out[i] = d2;
        borrow = b1 | b2;
    }
    (out, borrow)
}

fn less<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    sub(a, b).1
}

fn bit_len<const N: usize>(x: &[u64; N]) -> usize {
    for i in (0..N).rev() {
        if x[i] != 0 {
            return 64 * i + 64 - x[i].leading_zeros() as usize;
        }
    }
    0
}

/// A three-word (192-bit) column accumulator.
#[derive(Clone, Copy, Default)]
struct Acc {
    lo: u128,
    hi: u64,
}

impl Acc {
    /// += x·y
    #[inline(always)]
    fn mac(&mut self, x: u64, y: u64) {
        let (s, c) = self.lo.overflowing_add(u128::from(x) * u128::from(y));
        self.lo = s;
        self.hi += u64::from(c);
    }

    /// += 2·other
    #[inline(always)]
    fn add_twice(&mut self, other: &Acc) {
        let (s, c1) = self.lo.overflowing_add(other.lo);
        let (s, c2) = s.overflowing_add(other.lo);
        self.lo = s;
        self.hi += 2 * other.hi + u64::from(c1) + u64::from(c2);
    }

    /// Takes the low word out and shifts the rest down one word.
    #[inline(always)]
    fn shift(&mut self) -> u64 {
        let out = self.lo as u64;
        self.lo = (self.lo >> 64) | (u128::from(self.hi) << 64);
        self.hi = 0;
        out
    }
}

/// Montgomery arithmetic modulo an odd `m` with its top bit set, `R = 2^(64·N)`.
struct Mont<const N: usize> {
    m: [u64; N],
    /// −m⁻¹ mod 2⁶⁴.
    inv: u64,
    /// R mod m (Montgomery form of 1).
    one: [u64; N],
    /// m − one (Montgomery form of −1).
    minus_one: [u64; N],
}

impl<const N: usize> Mont<N> {
    fn new(m: &[u64; N]) -> Self {
        // Newton's iteration for m⁻¹ mod 2⁶⁴: each step doubles the correct low bits
        // (m·m ≡ 1 mod 8 gives 3 to start with).
        let mut x = m[0];
        for _ in 0..5 {
            x = x.wrapping_mul(2u64.wrapping_sub(m[0].wrapping_mul(x)));
        }
        // R − m < m since m ≥ R/2.
        let one = sub(&[0; N], m).0;
        let minus_one = sub(m, &one).0;
        Mont {
            m: *m,
            inv: x.wrapping_neg(),
            one,
            minus_one,
        }
    }

    /// `t − m` if `t` (with the extra top bit `hi`) is at least `m`, else `t`.
    #[inline(always)]
    fn reduce_once(&self, t: [u64; N], hi: bool) -> [u64; N] {
        let (d, borrow) = sub(&t, &self.m);
        if hi || !borrow { d } else { t }
    }

    /// a·b·R⁻¹ mod m, by finely integrated product scanning: each column of the product and
    /// of the reduction is summed into a three-word accumulator, without stores of partial
    /// rows.
    #[inline(always)]
    fn mul(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let m = &self.m;
        let mut u = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::default();
        for i in 0..N {
            for j in 0..i {
                acc.mac(a[j], b[i - j]);
                acc.mac(u[j], m[i - j]);
            }
            acc.mac(a[i], b[0]);
            let q = (acc.lo as u64).wrapping_mul(self.inv);
            u[i] = q;
            acc.mac(q, m[0]);
            acc.shift();
        }
        for i in N..2 * N {
            for j in i - N + 1..N {
                acc.mac(a[j], b[i - j]);
                acc.mac(u[j], m[i - j]);
            }
            out[i - N] = acc.shift();
        }
        self.reduce_once(out, acc.lo != 0)
    }

    /// a²·R⁻¹ mod m: as [`Mont::mul`], with each cross product a[j]·a[k] (j < k) computed once
    /// and doubled.
    #[inline(always)]
    fn sqr(&self, a: &[u64; N]) -> [u64; N] {
        let m = &self.m;
        let mut u = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::default();
        for i in 0..2 * N {
            let lo_j = if i >= N { i - N + 1 } else { 0 };
            let mut cross = Acc::default();
            let mut j = lo_j;
            while 2 * j < i {
                cross.mac(a[j], a[i - j]);
                j += 1;
            }
            acc.add_twice(&cross);
            if i % 2 == 0 {
                acc.mac(a[i / 2], a[i / 2]);
            }
            for j in lo_j..i.min(N) {
                acc.mac(u[j], m[i - j]);
            }
            if i < N {
                let q = (acc.lo as u64).wrapping_mul(self.inv);
                u[i] = q;
                acc.mac(q, m[0]);
                acc.shift();
            } else {
                out[i - N] = acc.shift();
            }
        }
        self.reduce_once(out, acc.lo != 0)
    }

    /// 2a mod m.
    #[inline(always)]
    fn dbl(&self, a: &[u64; N]) -> [u64; N] {
        let mut out = [0u64; N];
        let mut carry = 0u64;
        for i in 0..N {
            out[i] = (a[i] << 1) | carry;
            carry = a[i] >> 63;
        }
        self.reduce_once(out, carry != 0)
    }

    /// R² mod m, by doubling R mod m 64·N times.
    fn r2(&self) -> [u64; N] {
        let mut x = self.one;
        for _ in 0..64 * N {
            x = self.dbl(&x);
        }
        x
    }

    /// (w − 1) = 2^s · d with d odd: (d, s).
    fn split(&self) -> ([u64; N], usize) {
        let mut d = self.m;
        d[0] &= !1;
        let s = d
            .iter()
            .enumerate()
            .find(|(_, l)| **l != 0)
            .map(|(i, l)| 64 * i + l.trailing_zeros() as usize)
            .unwrap_or(0);
        (shr(&d, s), s)
    }

    /// The Miller–Rabin test's end: x = b^d (Montgomery form); probably prime?
    fn mr_finish(&self, mut x: [u64; N], s: usize) -> bool {
        if x == self.one || x == self.minus_one {
            return true;
        }
        for _ in 1..s {
            x = self.sqr(&x);
            if x == self.minus_one {
                return true;
            }
            if x == self.one {
                return false;
            }
        }
        false
    }

    /// One Miller–Rabin round to base 2 (a doubling instead of a multiplication per set bit).
    fn mr_base2(&self) -> bool {
        let (d, s) = self.split();
        let mut x = self.one;
        for i in (0..bit_len(&d)).rev() {
            x = self.sqr(&x);
            if d[i / 64] >> (i % 64) & 1 != 0 {
                x = self.dbl(&x);
            }
        }
        self.mr_finish(x, s)
    }

    /// `rounds` Miller–Rabin rounds with bases uniform in [2, m − 2].
    fn mr_random<R: RngCore>(&self, rng: &mut R, rounds: usize) -> bool {
        let (d, s) = self.split();
        let r2 = self.r2();
        let mut two = [0u64; N];
        two[0] = 2;
        let max = sub(&self.m, &two).0;
        let mut done = 0;
        while done < rounds {
            let mut b = [0u64; N];
            for limb in &mut b {
                *limb = rng.next_u64();
            }
            if less(&b, &two) || less(&max, &b) {
                continue;
            }
            let x = self.pow(&self.mul(&b, &r2), &d);
            if !self.mr_finish(x, s) {
                return false;
            }
            done += 1;
        }
        true
    }

    /// base^e (base and result in Montgomery form), fixed 5-bit windows.
    fn pow(&self, base: &[u64; N], e: &[u64; N]) -> [u64; N] {
        const W: usize = 5;
        let mut table = [[0u64; N]; 1 << W];
        table[0] = self.one;
        for i in 1..1 << W {
            table[i] = self.mul(&table[i - 1], base);
        }
        let bits = bit_len(e);
        let mut x = self.one;
        let mut i = bits.div_ceil(W) * W;
        while i > 0 {
            i -= W;
            for _ in 0..W {
                x = self.sqr(&x);
            }
            let mut window = 0usize;
            for b in (i..i + W).rev() {
                window <<= 1;
                if b < 64 * N {
                    window |= (e[b / 64] >> (b % 64) & 1) as usize;
                }
            }
            if window != 0 {
                x = self.mul(&x, &table[window]);
            }
        }
        x
    }
}

fn shr<const N: usize>(x: &[u64; N], s: usize) -> [u64; N] {
    let (limbs, bits) = (s / 64, s % 64);
    let mut out = [0u64; N];
    for i in 0..N - limbs.min(N) {
        let lo = x[i + limbs] >> bits;
        let hi = if bits > 0 && i + limbs + 1 < N {
            x[i + limbs + 1] << (64 - bits)
        } else {
            0
        };
        out[i] = lo | hi;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    fn from_big<const N: usize>(x: &BigUint) -> [u64; N] {
        let bytes = x.to_bytes_le();
        let mut out = [0u64; N];
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            out[i] = u64::from_le_bytes(b);
        }
        out
    }

    /// Montgomery products, squares and powers against num-bigint-dig's.
    #[test]
    fn montgomery_matches_bigint() {
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            let mut m = [0u64; 4];
            let mut a = [0u64; 4];
            let mut b = [0u64; 4];
            for i in 0..4 {
                m[i] = rng.next_u64();
                a[i] = rng.next_u64();
                b[i] = rng.next_u64();
            }
            m[3] |= 1 << 63;
            m[0] |= 1;
            let mont = Mont::new(&m);
            let big_m = to_big(&m);
            let r = BigUint::from(1u8) << 256;
            let (big_a, big_b) = (to_big(&a) % &big_m, to_big(&b) % &big_m);
            let (a, b) = (from_big::<4>(&big_a), from_big::<4>(&big_b));
            // mont.mul(a·R, b) = a·b mod m.
            let r2 = to_big(&mont.r2());
            assert_eq!(r2, (&r * &r) % &big_m);
            let a_m = mont.mul(&a, &mont.r2());
            assert_eq!(to_big(&a_m), (&big_a * &r) % &big_m);
            let ab = mont.mul(&a_m, &b);
            assert_eq!(to_big(&ab), (&big_a * &big_b) % &big_m);
            let aa = mont.sqr(&a_m);
            assert_eq!(
                to_big(&mont.mul(&aa, &[1, 0, 0, 0])),
                (&big_a * &big_a) % &big_m
            );
            let p = mont.pow(&a_m, &b);
            assert_eq!(
                to_big(&mont.mul(&p, &[1, 0, 0, 0])),
                big_a.modpow(&big_b, &big_m)
            );
            assert_eq!(to_big(&mont.dbl(&a)), (&big_a * 2u8) % &big_m);
        }
    }

    #[test]
    fn miller_rabin_classifies() {
        let mut rng = rand::thread_rng();
        // 2^127 − 1 (a Mersenne prime) shifted into two limbs with the top bit set is not
        // prime, so use known primes with the top bit set: 2^128 − 159 is prime.
        let p = [u64::MAX - 158, u64::MAX];
        let mont = Mont::new(&p);
        assert!(mont.mr_base2() && mont.mr_random(&mut rng, 10));
        // A Carmichael-free composite: (2^64 − 59)·(2^64 − 83), both primes.
        let c = to_big(&[u64::MAX - 58]) * to_big(&[u64::MAX - 82]);
        let c = from_big::<2>(&c);
        let mont = Mont::new(&c);
        assert!(!mont.mr_base2());
        assert!(!mont.mr_random(&mut rng, 5));
        // Residues of the sieve.
        let x = [0x1234_5678_9abc_def1u64, 0xfedc_ba98_7654_3210];
        for d in [3u32, 65537, 4_294_967_291] {
            assert_eq!(BigUint::from(mod_u32(&x, d)), to_big(&x) % BigUint::from(d));
        }
    }

    /// Generated keys are sound: n = p·q of the requested size, e = 65537,
    /// d·e ≡ 1 (mod λ(n)), the primes pass num-bigint-dig's own primality test, and a
    /// PKCS#1 v1.5 signature verifies.
    #[test]
    fn generated_keys_verify() {
        use rsa::signature::{Signer, Verifier};
        let mut rng = rand::thread_rng();
        for bits in [2048, 4096] {
            let key = generate(&mut rng, bits).unwrap();
            assert_eq!(key.n().bits(), bits);
            assert_eq!(key.e(), &BigUint::from(65537u32));
            let (p, q) = (&key.primes()[0], &key.primes()[1]);
            assert_eq!(p.bits(), bits / 2);
            assert_eq!(q.bits(), bits / 2);
            assert_eq!(&(p * q), key.n());
            let one = BigUint::from(1u8);
            let lambda = num_integer_lcm(&(p - &one), &(q - &one));
            assert_eq!((key.d() * key.e()) % &lambda, one);
            assert!(key.d().bits() > bits / 2);
            assert!(fermat_prime(p) && fermat_prime(q));
            key.validate().unwrap();
            let sk = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
            let sig = sk.sign(b"message");
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.to_public_key());
            vk.verify(b"message", &sig).unwrap();
            assert!(vk.verify(b"massage", &sig).is_err());
        }
    }

    fn num_integer_lcm(a: &BigUint, b: &BigUint) -> BigUint {
        let (mut x, mut y) = (a.clone(), b.clone());
        while y != BigUint::from(0u8) {
            let r = &x % &y;
            x = y;
            y = r;
        }
        a / &x * b
    }

    /// Fermat tests to 20 small bases (independent of the Miller–Rabin code above).
    fn fermat_prime(p: &BigUint) -> bool {
        let pm1 = p - 1u8;
        [
            2u8, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
        ]
        .iter()
        .all(|&b| BigUint::from(b).modpow(&pm1, p) == BigUint::from(1u8))
    }
}
