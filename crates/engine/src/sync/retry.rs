//! Sync retry backoff (`spec.syncPolicy.retry`, Argo CD's `RetryStrategy.NextRetryAt`) and the
//! self-heal backoff.

use std::time::Duration;
use thiserror::Error;

/// Default `retry.backoff.duration` (5 s).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Default `retry.backoff.factor` (2).
pub const DEFAULT_FACTOR: i64 = 2;
/// Default `retry.backoff.maxDuration` (3 min).
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(180);

/// A duration string that is neither an integer (seconds) nor a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unable to parse {input} as a duration")]
pub struct DurationError {
    /// The rejected text.
    pub input: String,
}

/// Parses a backoff duration as Argo CD: a plain integer is seconds, else a Go duration
/// (`300ms`, `1.5h`, `2h45m`, units `ns us µs ms s m h`, optional sign).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: s.to_string(),
    };
    if let Ok(secs) = s.parse::<i64>() {
        // Negative durations make no sense for a wait: treat as zero.
        return Ok(Duration::from_secs(secs.max(0) as u64));
    }
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = 0f64; // nanoseconds
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err());
        }
        let value: f64 = num.parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        total += value * scale;
    }
    if neg {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_nanos(total.min(u64::MAX as f64) as u64))
}

/// `retry.backoff` as written in the Application (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff<'a> {
    /// `duration` (e.g. `"5s"` or `"5"`).
    pub duration: Option<&'a str>,
    /// `factor`.
    pub factor: Option<i64>,
    /// `maxDuration`.
    pub max_duration: Option<&'a str>,
}

/// Delay before retry number `retry_count` (0 for the first retry):
/// `duration × factor^retry_count`, capped at `maxDuration` when that is positive.
/// With the defaults: 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 180 s, …
pub fn retry_delay(backoff: &Backoff<'_>, retry_count: u32) -> Result<Duration, DurationError> {
    let duration = match backoff.duration.filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s)?,
        None => DEFAULT_DURATION,
    };
    let max = match backoff.max_duration.filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s)?,
        None => DEFAULT_MAX_DURATION,
    };
    let factor = backoff.factor.unwrap_or(DEFAULT_FACTOR) as f64;
    let mut wait = duration.as_secs_f64() * factor.powi(retry_count.min(i32::MAX as u32) as i32);
    if !wait.is_finite() || wait < 0.0 {
        wait = if wait.is_sign_negative() {
            0.0
        } else {
            f64::MAX
        };
    }
    if !max.is_zero() {
        wait = wait.min(max.as_secs_f64());
    }
    Ok(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
}

/// Whether another retry is allowed after `retry_count` retries (`limit < 0` = unlimited).
pub fn may_retry(limit: i64, retry_count: u32) -> bool {
    limit < 0 || i64::from(retry_count) < limit
}

/// Self-heal backoff of Argo CD's controller (`wait.Backoff{Duration: 2s, Factor: 3, Cap: 5m}`
/// stepped `attempts` times): no wait before the first self-heal, then 2 s, 6 s, 18 s, 54 s,
/// 162 s, 300 s, 300 s, … The caller subtracts the time since the last operation finished.
pub fn self_heal_delay(attempts: u32) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let secs = 2f64 * 3f64.powi((attempts - 1).min(64) as i32);
    Duration::from_secs_f64(secs.min(300.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_like_argo() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5 s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            "unable to parse 1d as a duration"
        );
    }

    #[test]
    fn default_backoff_sequence() {
        let b = Backoff::default();
        let secs: Vec<u64> = (0..8)
            .map(|n| retry_delay(&b, n).unwrap().as_secs())
            .collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 180, 180]);
    }

    #[test]
    fn custom_backoff() {
        let b = Backoff {
            duration: Some("10s"),
            factor: Some(3),
            max_duration: Some("30m"),
        };
        assert_eq!(retry_delay(&b, 0).unwrap(), Duration::from_secs(10));
        assert_eq!(retry_delay(&b, 2).unwrap(), Duration::from_secs(90));
        assert_eq!(retry_delay(&b, 50).unwrap(), Duration::from_secs(1800));
        let bad = Backoff {
            duration: Some("soon"),
            ..Backoff::default()
        };
        assert!(retry_delay(&bad, 0).is_err());
        assert!(may_retry(-1, 1000) && may_retry(2, 1) && !may_retry(2, 2) && !may_retry(0, 0));
        let heal: Vec<u64> = (0..8).map(|n| self_heal_delay(n).as_secs()).collect();
        assert_eq!(heal, vec![0, 2, 6, 18, 54, 162, 300, 300]);
    }
}
