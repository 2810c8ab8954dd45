//! The worker's request queue: bounded, caller leg first, FIFO within a
//! leg. Callers' words are what the detector judges; when the worker falls
//! behind, the callee's chunks wait.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use callguard_speech::Leg;

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefused {
    /// The queue holds its capacity.
    Full,
    /// The worker is shutting down.
    Closed,
}

#[derive(Debug)]
struct Lanes<T> {
    caller: VecDeque<T>,
    callee: VecDeque<T>,
    closed: bool,
}

/// A blocking two-lane queue.
#[derive(Debug)]
pub struct JobQueue<T> {
    lanes: Mutex<Lanes<T>>,
    ready: Condvar,
    capacity: usize,
}

impl<T> JobQueue<T> {
    /// A queue holding at most `capacity` jobs (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            lanes: Mutex::new(Lanes { caller: VecDeque::new(), callee: VecDeque::new(), closed: false }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lanes<T>> {
        // A panic while holding the lock leaves plain queues, still valid.
        self.lanes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `job` for `leg`.
    pub fn push(&self, leg: Leg, job: T) -> Result<(), (PushRefused, T)> {
        let mut lanes = self.lock();
        if lanes.closed {
            return Err((PushRefused::Closed, job));
        }
        if lanes.caller.len() + lanes.callee.len() >= self.capacity {
            return Err((PushRefused::Full, job));
        }
        match leg {
            Leg::Caller => lanes.caller.push_back(job),
            Leg::Callee => lanes.callee.push_back(job),
        }
        drop(lanes);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job, caller lane first; waits for one. `None` once the
    /// queue is closed and empty.
    pub fn pop(&self) -> Option<T> {
        let mut lanes = self.lock();
        loop {
            if let Some(job) = lanes.caller.pop_front().or_else(|| lanes.callee.pop_front()) {
                return Some(job);
            }
            if lanes.closed {
                return None;
            }
            lanes = self.ready.wait(lanes).unwrap_or_else(std::sync::PoisonError::into_inner);
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
    fn caller_jobs_jump_the_queue_and_each_lane_stays_in_order() {
        let q = JobQueue::new(10);
        q.push(Leg::Callee, "e1").unwrap();
        q.push(Leg::Caller, "r1").unwrap();
        q.push(Leg::Callee, "e2").unwrap();
        q.push(Leg::Caller, "r2").unwrap();
        let order: Vec<_> = (0..4).map(|_| q.pop().unwrap()).collect();
        assert_eq!(order, ["r1", "r2", "e1", "e2"]);
    }

    #[test]
    fn a_full_queue_refuses_and_a_closed_one_drains_then_ends() {
        let q = JobQueue::new(1);
        q.push(Leg::Caller, 1).unwrap();
        assert_eq!(q.push(Leg::Caller, 2), Err((PushRefused::Full, 2)));
        q.close();
        assert_eq!(q.push(Leg::Callee, 3), Err((PushRefused::Closed, 3)));
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn close_wakes_waiting_workers() {
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
