//! The bounded per-leg frame queue between the media task and the
//! speech-to-text feeder.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

use crate::Frame;

/// A bounded, lock-free queue of 16 kHz frames for one call leg.
///
/// The producer (the media task) never blocks and never fails: when the
/// consumer is behind and the queue is full, [`FrameQueue::push`] drops the
/// oldest frame and counts it. Share it between threads with an `Arc`.
/// Dropped frames are zeroed as they go (see [`Frame`]).
#[derive(Debug)]
pub struct FrameQueue {
    frames: ArrayQueue<Frame>,
    pushed: AtomicU64,
    dropped: AtomicU64,
}

impl FrameQueue {
    /// A queue holding at most `capacity` frames (at least 1); 50 frames
    /// is one second of audio.
    pub fn new(capacity: usize) -> Self {
        Self { frames: ArrayQueue::new(capacity.max(1)), pushed: AtomicU64::new(0), dropped: AtomicU64::new(0) }
    }

    /// Adds a frame, dropping the oldest one if the queue is full. Returns
    /// whether a frame was dropped.
    pub fn push(&self, frame: Frame) -> bool {
        self.pushed.fetch_add(1, Ordering::Relaxed);
        if self.frames.force_push(frame).is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// The oldest frame, if any.
    pub fn pop(&self) -> Option<Frame> {
        self.frames.pop()
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Most frames held.
    pub fn capacity(&self) -> usize {
        self.frames.capacity()
    }

    /// Frames pushed since creation.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Frames dropped because the consumer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Bytes this queue occupies when full.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.capacity() * (std::mem::size_of::<Frame>() + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FrameKind;
    use std::sync::Arc;
    use std::time::Instant;

    fn frame(index: u64) -> Frame {
        Frame::new(index, Instant::now(), FrameKind::Audio, [index as f32; 320])
    }

    #[test]
    fn drops_the_oldest_when_full() {
        let q = FrameQueue::new(3);
        for i in 0..5 {
            q.push(frame(i));
        }
        assert_eq!((q.len(), q.pushed(), q.dropped()), (3, 5, 2));
        let got: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|f| f.index).collect();
        assert_eq!(got, [2, 3, 4]);
        assert!(q.is_empty());
    }

    #[test]
    fn producer_and_consumer_on_two_threads() {
        let q = Arc::new(FrameQueue::new(8));
        let consumer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                let mut last = None;
                let mut seen = 0u64;
                let start = Instant::now();
                while start.elapsed().as_secs() < 10 {
                    if let Some(f) = q.pop() {
                        if let Some(l) = last {
                            assert!(f.index > l, "frames out of order");
                        }
                        last = Some(f.index);
                        seen += 1;
                        if f.index == 9999 {
                            break;
                        }
                    }
                }
                seen
            })
        };
        for i in 0..10_000 {
            q.push(frame(i));
        }
        let seen = consumer.join().unwrap();
        assert_eq!(q.pushed(), 10_000);
        // Every frame was either consumed or dropped, none duplicated.
        assert_eq!(seen + q.dropped() + q.len() as u64, 10_000);
    }
}
