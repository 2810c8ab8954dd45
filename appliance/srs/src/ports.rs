//! The RTP port pool: even ports from the configured ranges, each with its
//! odd neighbour reserved for RTCP.

use std::collections::BTreeSet;

/// Hands out RTP ports round-robin so that a port just released is not
/// reused at once (late packets of the old call must not reach a new one).
#[derive(Debug, Clone)]
pub struct PortPool {
    ranges: Vec<(u16, u16)>,
    in_use: BTreeSet<u16>,
    cursor: usize,
    capacity: usize,
}

impl PortPool {
    /// A pool over inclusive `(first, last)` ranges.
    pub fn new(ranges: &[(u16, u16)]) -> PortPool {
        let ranges: Vec<(u16, u16)> = ranges.to_vec();
        let capacity = ranges.iter().map(|&(f, l)| Self::evens(f, l).count()).sum();
        PortPool { ranges, in_use: BTreeSet::new(), cursor: 0, capacity }
    }

    /// Even ports whose RTCP neighbour is inside the range too.
    fn evens(first: u16, last: u16) -> impl Iterator<Item = u16> {
        let start = first + first % 2;
        (start..last).step_by(2)
    }

    fn nth(&self, mut n: usize) -> u16 {
        for &(f, l) in &self.ranges {
            let count = Self::evens(f, l).count();
            if n < count {
                return f + f % 2 + 2 * n as u16;
            }
            n -= count;
        }
        unreachable!("n is below capacity")
    }

    /// An unused even port (its RTCP port is port + 1), or `None` when all are taken.
    pub fn allocate(&mut self) -> Option<u16> {
        for _ in 0..self.capacity {
            let port = self.nth(self.cursor);
            self.cursor = (self.cursor + 1) % self.capacity;
            if self.in_use.insert(port) {
                return Some(port);
            }
        }
        None
    }

    /// Returns a port to the pool.
    pub fn release(&mut self, port: u16) {
        self.in_use.remove(&port);
    }

    /// Ports in use.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }

    /// All ports the pool can hand out.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ports_round_robin_across_ranges_until_exhausted() {
        let mut pool = PortPool::new(&[(20001, 20005), (30000, 30003)]);
        assert_eq!(pool.capacity(), 4);
        let got: Vec<u16> = (0..4).map(|_| pool.allocate().unwrap()).collect();
        assert_eq!(got, [20002, 20004, 30000, 30002]);
        assert_eq!(pool.allocate(), None);
        pool.release(20004);
        assert_eq!(pool.allocate(), Some(20004));
        assert_eq!(pool.in_use(), 4);
    }

    #[test]
    fn a_released_port_waits_its_turn() {
        let mut pool = PortPool::new(&[(40000, 40009)]);
        let first = pool.allocate().unwrap();
        pool.release(first);
        assert_ne!(pool.allocate(), Some(first));
    }
}
