//! Dispatch: the connection hands each received message to every matching route's bounded
//! queue; each route's workers run its handler off the network task.

mod queue;
mod report;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::BoxFuture;
use tokio::task::JoinSet;

pub(crate) use report::report;
pub use report::{ErrorHook, ErrorKind, ErrorReport, SharedError};

use crate::handler::ErasedHandler;
use crate::inbound::Inbound;
use crate::publisher::Publisher;
use crate::route::RouteMeta;
use crate::router::CompiledRouter;
use crate::topic::FilterTrie;
use queue::{BoundedQueue, Pushed};

/// A queued message and the route it is for.
type Job = (usize, Arc<Inbound>);

/// Every route with its handler, indexed like [`Job`]s.
type RouteTable<S> = Arc<[(Arc<RouteMeta>, Arc<dyn ErasedHandler<S>>)]>;

struct Slot {
    meta: Arc<RouteMeta>,
    queue: Arc<BoundedQueue<Job>>,
}

/// The intake side of every route; cheap to share with the connection task.
pub(crate) struct Dispatcher {
    trie: FilterTrie<usize>,
    slots: Vec<Slot>,
    hook: Option<ErrorHook>,
    open: AtomicBool,
}

impl Dispatcher {
    /// Builds the intake and spawns the workers of each queue into `tasks`: one queue per route,
    /// or one per group of routes.
    pub(crate) fn start<S: Send + Sync + 'static>(
        router: CompiledRouter<S>,
        state: Arc<S>,
        publisher: Publisher,
        hook: Option<ErrorHook>,
        tasks: &mut JoinSet<()>,
    ) -> Arc<Self> {
        let routes: RouteTable<S> = router.routes.into();
        let mut groups: Vec<(&str, Arc<BoundedQueue<Job>>)> = Vec::new();
        let mut slots = Vec::with_capacity(routes.len());
        for (meta, _) in routes.iter() {
            let shared = meta
                .group
                .as_deref()
                .and_then(|g| groups.iter().find(|(name, _)| *name == g))
                .map(|(_, q)| q.clone());
            let queue = match shared {
                Some(queue) => queue,
                None => {
                    let queue = Arc::new(BoundedQueue::new(meta.queue_capacity));
                    if let Some(group) = meta.group.as_deref() {
                        groups.push((group, queue.clone()));
                    }
                    for _ in 0..meta.concurrency {
                        let worker = worker::Worker {
                            routes: routes.clone(),
                            queue: queue.clone(),
                            state: state.clone(),
                            publisher: publisher.clone(),
                            hook: hook.clone(),
                        };
                        tasks.spawn(worker.run());
                    }
                    queue
                }
            };
            slots.push(Slot {
                meta: meta.clone(),
                queue,
            });
        }
        Arc::new(Self {
            trie: router.trie,
            slots,
            hook,
            open: AtomicBool::new(true),
        })
    }

    /// Queues `inbound` on every matching route. Returns at once where no route has to wait
    /// (the common case: no future, no allocation for it); otherwise the rest of the work, as a
    /// future that waits for room on routes whose policy is `Block`.
    pub(crate) fn dispatch_now(
        self: &Arc<Self>,
        inbound: Arc<Inbound>,
    ) -> Option<BoxFuture<'static, ()>> {
        if !self.open.load(Ordering::Acquire) {
            not_taken(&inbound);
            return None;
        }
        // Queued from inside the trie walk: no list of the matched routes is built, unless a
        // full queue with the `Block` policy makes the rest wait.
        let mut blocked: Option<(Job, Vec<usize>)> = None;
        let valid = self.trie.matches(&inbound.topic, |&i| match &mut blocked {
            Some((_, rest)) => rest.push(i),
            None => {
                if let Err(job) = self.try_push(i, &inbound) {
                    blocked = Some((job, Vec::new()));
                }
            }
        });
        if let Err(e) = valid {
            // No conforming broker delivers such a name; one that does gets no route run.
            tracing::warn!(topic = %inbound.topic, error = %e, "ignored a message whose topic is not a valid topic name");
        }
        let (job, rest) = blocked?;
        Some(self.wait_then_push(job, rest, inbound))
    }

    /// Queues `inbound` on route `i` unless that would wait: `Err(job)` when the route's queue
    /// is full and its policy is `Block`.
    fn try_push(&self, i: usize, inbound: &Arc<Inbound>) -> Result<(), Job> {
        let slot = &self.slots[i];
        slot.meta.stats.on_received();
        let pushed = slot
            .queue
            .try_push((i, inbound.clone()), slot.meta.overflow)?;
        self.pushed(i, pushed);
        Ok(())
    }

    /// Waits for room for `job` on its route's full queue, then queues `inbound` on the routes
    /// `rest`, in order, waiting again at the next full queue that blocks.
    fn wait_then_push(
        self: &Arc<Self>,
        job: Job,
        rest: Vec<usize>,
        inbound: Arc<Inbound>,
    ) -> BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            let mut job = Some(job);
            let mut rest = rest.into_iter();
            while let Some((i, item)) = job.take() {
                let slot = &this.slots[i];
                this.pushed(i, slot.queue.push((i, item), slot.meta.overflow).await);
                job = rest.find_map(|next| this.try_push(next, &inbound).err());
            }
        })
    }

    /// Reports what pushing onto route `i`'s queue dropped, if anything.
    fn pushed(&self, i: usize, pushed: Pushed<Job>) {
        match pushed {
            Pushed::Queued => {}
            Pushed::DroppedOldest((old_route, old)) => self.dropped(
                &self.slots[old_route].meta,
                &old,
                "queue full, dropped the oldest queued message",
            ),
            Pushed::Rejected((_, new)) => self.dropped(
                &self.slots[i].meta,
                &new,
                "queue full, dropped the new message",
            ),
            // Closed by a shutdown between the check above and the push.
            Pushed::Closed((_, new)) => not_taken(&new),
        }
    }

    fn dropped(&self, meta: &RouteMeta, inbound: &Inbound, why: &str) {
        meta.stats.on_failure(ErrorKind::Dropped, why);
        report(
            self.hook.as_ref(),
            ErrorReport {
                kind: ErrorKind::Dropped,
                route: meta.name.clone(),
                topic: inbound.topic.clone(),
                qos: inbound.qos,
                message: why.to_owned(),
                source: None,
                excerpt: inbound.excerpt(),
            },
        );
    }

    /// Reports a message dropped at intake for exceeding `limit` bytes (it is acknowledged, so a
    /// persistent session does not bring it back).
    pub(crate) fn too_large(&self, inbound: &Inbound, limit: usize) {
        report(
            self.hook.as_ref(),
            ErrorReport {
                kind: ErrorKind::TooLarge,
                route: "(intake)".to_owned(),
                topic: inbound.topic.clone(),
                qos: inbound.qos,
                message: format!(
                    "{} bytes, more than MQTT_MAX_PACKET_SIZE = {limit}",
                    inbound.payload.len()
                ),
                source: None,
                excerpt: inbound.excerpt(),
            },
        );
    }

    /// Stops intake: later messages are not queued (nor acknowledged); queued ones still run.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Release);
        for slot in &self.slots {
            slot.queue.close();
        }
    }

    /// Messages queued and not yet started, over all routes.
    pub(crate) fn queued(&self) -> usize {
        self.slots.iter().map(|s| s.queue.len()).sum()
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = &Arc<RouteMeta>> {
        self.slots.iter().map(|s| &s.meta)
    }

    /// Every route with its queue's depth now and its maximum (a queue group's routes share
    /// their queue).
    pub(crate) fn routes_with_depth(&self) -> impl Iterator<Item = (&RouteMeta, (usize, usize))> {
        self.slots.iter().map(|s| (&*s.meta, s.queue.depth()))
    }
}

/// Shutdown has begun: the message is not handled, so not acknowledged, and a persistent
/// session delivers it again (to this service's next instance).
fn not_taken(inbound: &Inbound) {
    if let Some(ack) = &inbound.ack {
        ack.disarm();
    }
}
