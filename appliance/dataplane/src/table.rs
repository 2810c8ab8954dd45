//! The streams by destination port, in shards behind their own locks.
//!
//! Every data-plane thread may receive any stream's packets (the NIC's RSS
//! hash, not the appliance, picks the RX queue of a flow), so the table is
//! shared. A flow stays on one queue, so two threads seldom want one shard
//! at once: a lock per shard costs an uncontended atomic per run of
//! packets, where one lock for the table would make the threads take
//! turns.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use callguard_capture::PortControl;

use crate::DataPlaneError;
use crate::stream::{Stream, StreamCounters};

/// Shards of the table: enough that threads seldom meet, few enough that
/// a sweep over them is cheap.
const SHARDS: usize = 64;

type Shard = HashMap<u16, Stream>;

pub(crate) struct StreamTable {
    shards: Box<[Mutex<Shard>]>,
}

/// The shard of `port`. RTP ports are mostly even (RTCP takes the odd
/// one above), so the low bit would leave half of the shards empty.
fn shard_of(port: u16) -> usize {
    usize::from(port >> 1) % SHARDS
}

impl StreamTable {
    pub(crate) fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        self.shards[shard].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `stream` and its port to the source's port set.
    pub(crate) fn insert(&self, stream: Stream, ports: &PortControl) -> Result<(), DataPlaneError> {
        let port = stream.port();
        match self.lock(shard_of(port)).entry(port) {
            Entry::Occupied(_) => Err(DataPlaneError::PortInUse(port)),
            Entry::Vacant(slot) => {
                ports.add(port).map_err(|source| DataPlaneError::Port { port, source })?;
                slot.insert(stream);
                Ok(())
            }
        }
    }

    /// Removes the stream on `port` and the port from the set; the stream
    /// is dropped (and its audio zeroed) by the caller's thread.
    pub(crate) fn remove(&self, port: u16, ports: &PortControl) -> Option<Stream> {
        let stream = self.lock(shard_of(port)).remove(&port)?;
        ports.remove(port);
        Some(stream)
    }

    pub(crate) fn counters(&self, port: u16) -> Option<Arc<StreamCounters>> {
        self.lock(shard_of(port)).get(&port).map(Stream::counters)
    }

    /// Hands each `(port, payload)` to its stream, keeping a shard locked
    /// across a run of packets for it. Returns how many had no stream.
    pub(crate) fn deliver<'a>(&self, packets: impl Iterator<Item = (u16, &'a [u8])>, now: Instant) -> u64 {
        let mut unknown = 0;
        let mut held: Option<(usize, MutexGuard<'_, Shard>)> = None;
        for (port, payload) in packets {
            let shard = shard_of(port);
            let guard = match &mut held {
                Some((locked, guard)) if *locked == shard => guard,
                _ => {
                    held = None;
                    &mut held.insert((shard, self.lock(shard))).1
                }
            };
            match guard.get_mut(&port) {
                Some(stream) => stream.receive(payload, now),
                None => unknown += 1,
            }
        }
        unknown
    }

    /// Moves the due frames of the streams in the shards that thread
    /// `part` of `parts` sweeps, so that each shard is swept by one thread.
    pub(crate) fn sweep(&self, part: usize, parts: usize, now: Instant) {
        for shard in (part..SHARDS).step_by(parts.max(1)) {
            for stream in self.lock(shard).values_mut() {
                stream.emit_due(now);
            }
        }
    }
}
