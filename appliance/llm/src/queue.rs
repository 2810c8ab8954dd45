//! The worker's request queue: bounded, first in first out. A judgement
//! is refused at once when the queue is full, so the daemon degrades
//! instead of waiting; a forget is never refused (it frees memory and
//! must follow the call's last judgement), up to a much larger bound.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefused {
    /// The queue holds its capacity.
    Full,
    /// The worker is shutting down.
    Closed,
}

#[derive(Debug)]
struct State<T> {
    jobs: VecDeque<(T, bool)>,
    judgements: usize,
    closed: bool,
}

/// A blocking bounded queue.
#[derive(Debug)]
pub struct JobQueue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    capacity: usize,
}

/// How many forgets may wait per judgement slot of capacity.
const FORGETS_PER_SLOT: usize = 16;

impl<T> JobQueue<T> {
    /// A queue holding at most `capacity` judgements (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State { jobs: VecDeque::new(), judgements: 0, closed: false }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves a plain queue, still valid.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a judgement (`bounded`), refused when `capacity` judgements
    /// wait, or a forget (not `bounded`), refused only far beyond it.
    pub fn push(&self, job: T, bounded: bool) -> Result<(), (PushRefused, T)> {
        let mut state = self.lock();
        if state.closed {
            return Err((PushRefused::Closed, job));
        }
        let full = if bounded {
            state.judgements >= self.capacity
        } else {
            state.jobs.len() >= self.capacity * (FORGETS_PER_SLOT + 1)
        };
        if full {
            return Err((PushRefused::Full, job));
        }
        state.judgements += usize::from(bounded);
        state.jobs.push_back((job, bounded));
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job; waits for one. `None` once the queue is closed and
    /// empty.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if let Some((job, bounded)) = state.jobs.pop_front() {
                state.judgements -= usize::from(bounded);
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Refuses new jobs; those queued are still handed out.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judgements_are_bounded_forgets_are_not_and_order_is_kept() {
        let q = JobQueue::new(1);
        q.push("j1", true).unwrap();
        assert_eq!(q.push("j2", true), Err((PushRefused::Full, "j2")));
        q.push("f1", false).unwrap();
        assert_eq!(q.pop(), Some("j1"));
        q.push("j2", true).unwrap();
        assert_eq!((q.pop(), q.pop()), (Some("f1"), Some("j2")));
        for _ in 0..FORGETS_PER_SLOT + 1 {
            q.push("f", false).unwrap();
        }
        assert_eq!(q.push("f", false), Err((PushRefused::Full, "f")));
    }

    #[test]
    fn a_closed_queue_drains_then_ends_and_wakes_waiters() {
        let q = std::sync::Arc::new(JobQueue::new(2));
        q.push(1, true).unwrap();
        q.close();
        assert_eq!(q.push(2, true), Err((PushRefused::Closed, 2)));
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None);
        let q = std::sync::Arc::new(JobQueue::<u8>::new(1));
        let waiter = {
            let q = q.clone();
            std::thread::spawn(move || q.pop())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        q.close();
        assert_eq!(waiter.join().unwrap(), None);
    }
}
