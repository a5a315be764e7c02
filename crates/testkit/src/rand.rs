//! A small deterministic pseudo-random source for randomized tests (xorshift64): the same seed
//! gives the same cases on every run, so a failure is reproducible.

/// `below(n)`: the next number in `0..n` (`n > 0`) from the xorshift64 sequence of `seed`
/// (a non-zero seed).
///
/// ```
/// let mut below = testkit::rand::below_fn(0x9E37_79B9_7F4A_7C15);
/// let picks: Vec<usize> = (0..4).map(|_| below(10)).collect();
/// assert!(picks.iter().all(|&p| p < 10));
/// assert_eq!(picks, (0..4).map({
///     let mut again = testkit::rand::below_fn(0x9E37_79B9_7F4A_7C15);
///     move |_| again(10)
/// }).collect::<Vec<_>>());
/// ```
pub fn below_fn(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}
