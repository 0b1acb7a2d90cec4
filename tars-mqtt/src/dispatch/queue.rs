//! A bounded FIFO with an overflow policy, shared by a route's intake and its workers.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::route::Overflow;

pub(crate) struct BoundedQueue<T> {
    state: Mutex<State<T>>,
    items: Notify,
    space: Notify,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    /// The most items ever queued at once.
    max: usize,
}

impl<T> State<T> {
    fn push_back(&mut self, item: T) {
        self.items.push_back(item);
        self.max = self.max.max(self.items.len());
    }
}

/// What happened to a pushed item.
pub(crate) enum Pushed<T> {
    Queued,
    /// Queued, and this older item was dropped to make room.
    DroppedOldest(T),
    /// Not queued: the queue was full (drop-new).
    Rejected(T),
    /// Not queued: the queue was closed (shutdown).
    Closed(T),
}

impl<T> BoundedQueue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                closed: false,
                max: 0,
            }),
            items: Notify::new(),
            space: Notify::new(),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`push`](Self::push) without waiting: `Err(item)` when the queue is full and the policy
    /// is `Block` (the caller then waits with `push`).
    pub(crate) fn try_push(&self, item: T, overflow: Overflow) -> Result<Pushed<T>, T> {
        let mut state = self.lock();
        if state.closed {
            return Ok(Pushed::Closed(item));
        }
        if state.items.len() < self.capacity {
            state.push_back(item);
            drop(state);
            self.items.notify_one();
            return Ok(Pushed::Queued);
        }
        match overflow {
            Overflow::DropNew => Ok(Pushed::Rejected(item)),
            Overflow::DropOldest => {
                let oldest = state.items.pop_front().expect("a full queue has items");
                state.push_back(item);
                Ok(Pushed::DroppedOldest(oldest))
            }
            Overflow::Block => Err(item),
        }
    }

    pub(crate) async fn push(&self, item: T, overflow: Overflow) -> Pushed<T> {
        let mut item = Some(item);
        loop {
            let space = self.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            {
                let mut state = self.lock();
                let item_ref = item.take().expect("item is put back before looping");
                if state.closed {
                    return Pushed::Closed(item_ref);
                }
                if state.items.len() < self.capacity {
                    state.push_back(item_ref);
                    drop(state);
                    self.items.notify_one();
                    return Pushed::Queued;
                }
                match overflow {
                    Overflow::DropNew => return Pushed::Rejected(item_ref),
                    Overflow::DropOldest => {
                        let oldest = state.items.pop_front().expect("a full queue has items");
                        state.push_back(item_ref);
                        return Pushed::DroppedOldest(oldest);
                    }
                    Overflow::Block => item = Some(item_ref),
                }
            }
            space.await;
        }
    }

    /// The next item; `None` once the queue is closed and empty.
    pub(crate) async fn pop(&self) -> Option<T> {
        loop {
            // While items are queued (a flood), they are taken without registering for a
            // wake-up first.
            if let Some(next) = self.try_pop() {
                return next;
            }
            let ready = self.items.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            // An item pushed since the first look notified no one yet: take it.
            if let Some(next) = self.try_pop() {
                return next;
            }
            ready.await;
        }
    }

    /// `Some(Some(item))`, `Some(None)` once closed and empty, `None` while open and empty.
    fn try_pop(&self) -> Option<Option<T>> {
        let mut state = self.lock();
        match state.items.pop_front() {
            Some(item) => {
                let more = !state.items.is_empty();
                drop(state);
                self.space.notify_one();
                if more {
                    // Another worker of the queue (concurrency > 1) may take the next one.
                    self.items.notify_one();
                }
                Some(Some(item))
            }
            None if state.closed => Some(None),
            None => None,
        }
    }

    /// Refuses new items; workers drain what is queued and then see `None`.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.items.notify_waiters();
        self.space.notify_waiters();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Items queued now, and the most ever queued at once.
    pub(crate) fn depth(&self) -> (usize, usize) {
        let state = self.lock();
        (state.items.len(), state.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_order_and_applies_overflow() {
        let q = BoundedQueue::new(2);
        assert!(matches!(q.push(1, Overflow::DropNew).await, Pushed::Queued));
        assert!(matches!(q.push(2, Overflow::DropNew).await, Pushed::Queued));
        assert!(matches!(
            q.push(3, Overflow::DropNew).await,
            Pushed::Rejected(3)
        ));
        assert!(matches!(
            q.push(4, Overflow::DropOldest).await,
            Pushed::DroppedOldest(1)
        ));
        assert_eq!(q.pop().await, Some(2));
        assert_eq!(q.pop().await, Some(4));
        q.close();
        assert_eq!(q.pop().await, None);
        assert!(matches!(
            q.push(5, Overflow::Block).await,
            Pushed::Closed(5)
        ));
    }

    #[tokio::test]
    async fn block_waits_for_room() {
        let q = std::sync::Arc::new(BoundedQueue::new(1));
        q.push(1, Overflow::Block).await;
        let q2 = q.clone();
        let pusher =
            tokio::spawn(
                async move { matches!(q2.push(2, Overflow::Block).await, Pushed::Queued) },
            );
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished());
        assert_eq!(q.pop().await, Some(1));
        assert!(pusher.await.unwrap());
        assert_eq!(q.pop().await, Some(2));
    }

    /// Under a blocking producer and several workers on a multi-threaded runtime, every item
    /// arrives exactly once and nobody sleeps through an item or a free slot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_wake_up_is_lost() {
        let q = std::sync::Arc::new(BoundedQueue::new(4));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Some(n) = q.pop().await {
                        got.push(n);
                        if n % 7 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                    got
                })
            })
            .collect();
        for n in 0..20_000u32 {
            match q.try_push(n, Overflow::Block) {
                Ok(pushed) => assert!(matches!(pushed, Pushed::Queued)),
                Err(n) => assert!(matches!(q.push(n, Overflow::Block).await, Pushed::Queued)),
            }
        }
        q.close();
        let mut all = Vec::new();
        for w in workers {
            let got = tokio::time::timeout(std::time::Duration::from_secs(10), w)
                .await
                .expect("no worker sleeps through an item")
                .unwrap();
            all.extend(got);
        }
        all.sort_unstable();
        assert_eq!(all, (0..20_000).collect::<Vec<_>>());
    }
}
