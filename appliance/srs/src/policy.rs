//! Who may open sessions, and how fast.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use ipnet::IpNet;

/// Admission of new sessions per source address: an allow-list of SBC
/// networks and a token bucket per source, so that one misbehaving SBC (or
/// a flood from an allowed address) cannot starve the others.
#[derive(Debug)]
pub struct SourcePolicy {
    allowed: Vec<IpNet>,
    per_second: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refreshed: Instant,
}

/// The most distinct sources tracked before idle ones are forgotten.
const MAX_TRACKED_SOURCES: usize = 4096;

impl SourcePolicy {
    /// Allows `allowed` networks, each source at most `per_second` new
    /// sessions per second on average, with bursts up to `burst`.
    pub fn new(allowed: Vec<IpNet>, per_second: u32, burst: u32) -> SourcePolicy {
        SourcePolicy {
            allowed,
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Whether `source` is one of the configured SBCs.
    pub fn is_allowed(&self, source: IpAddr) -> bool {
        let source = match source {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(source),
            v4 => v4,
        };
        self.allowed.iter().any(|net| net.contains(&source))
    }

    /// Takes one new-session token for `source`; `false` when it is over its rate.
    pub fn take_session_token(&mut self, source: IpAddr, now: Instant) -> bool {
        if self.buckets.len() >= MAX_TRACKED_SOURCES && !self.buckets.contains_key(&source) {
            let (burst, per_second) = (self.burst, self.per_second);
            self.buckets.retain(|_, b| refill(b, now, per_second, burst) < burst);
        }
        let (burst, per_second) = (self.burst, self.per_second);
        let bucket = self.buckets.entry(source).or_insert(Bucket { tokens: burst, refreshed: now });
        if refill(bucket, now, per_second, burst) >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn refill(bucket: &mut Bucket, now: Instant, per_second: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.refreshed).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
    bucket.refreshed = now;
    bucket.tokens
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_configured_networks_are_allowed() {
        let policy = SourcePolicy::new(vec!["198.18.0.0/24".parse().unwrap(), "::1/128".parse().unwrap()], 10, 10);
        assert!(policy.is_allowed("198.18.0.7".parse().unwrap()));
        assert!(policy.is_allowed("::ffff:198.18.0.7".parse().unwrap()));
        assert!(policy.is_allowed("::1".parse().unwrap()));
        assert!(!policy.is_allowed("198.18.1.7".parse().unwrap()));
    }

    #[test]
    fn bursts_then_the_sustained_rate() {
        let mut policy = SourcePolicy::new(vec![], 2, 3);
        let source: IpAddr = "198.18.0.7".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| policy.take_session_token(source, t0)));
        assert!(!policy.take_session_token(source, t0));
        assert!(policy.take_session_token(source, t0 + Duration::from_millis(500)));
        assert!(!policy.take_session_token(source, t0 + Duration::from_millis(500)));
        let other: IpAddr = "198.18.0.8".parse().unwrap();
        assert!(policy.take_session_token(other, t0), "each source has its own bucket");
    }
}
