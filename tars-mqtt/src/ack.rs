//! Acknowledge-after-handler, for persistent sessions: a QoS ≥ 1 PUBLISH is acknowledged once
//! every route it matched has finished with it, and only on the connection it came in on.
//!
//! Acknowledgements go out in the order the PUBLISHes arrived, as MQTT 3.1.1 §4.6 requires
//! (rumqttd drops a client that acknowledges out of order): one whose handlers finished early
//! waits for those before it. A message that is never acknowledged (shutdown came first) holds
//! back every later one, which shutdown leaves unacknowledged anyway.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::QoS;

/// What acknowledging a received PUBLISH takes: its QoS (PUBACK or PUBREC) and packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    pub(crate) qos: QoS,
    pub(crate) pkid: u16,
}

/// Where the acker sends acknowledgements (the client's outgoing queue).
pub(crate) trait AckSender: Send + Sync + 'static {
    /// Queues the acknowledgement; fails once the client is gone.
    fn ack(&self, ack: Ack) -> impl std::future::Future<Output = Result<(), ()>> + Send;
}

/// Acknowledges its PUBLISH when dropped (after every route handled it), unless disarmed.
#[derive(Debug)]
pub(crate) struct AckGuard {
    publish: Option<Ack>,
    epoch: u64,
    seq: u64,
    armed: AtomicBool,
    acks: Acks,
}

impl AckGuard {
    /// The message was not handled: it is never acknowledged, so the broker delivers it again.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Release);
    }
}

impl Drop for AckGuard {
    fn drop(&mut self) {
        if self.armed.load(Ordering::Acquire)
            && self.acks.open.load(Ordering::Acquire)
            && let Some(publish) = self.publish.take()
        {
            let _ = self.acks.tx.send(AckMsg::Done {
                epoch: self.epoch,
                seq: self.seq,
                publish,
            });
        }
    }
}

/// What the acker task is asked to do.
#[derive(Debug)]
pub(crate) enum AckMsg {
    /// The handlers of PUBLISH number `seq` of connection `epoch` are done.
    Done { epoch: u64, seq: u64, publish: Ack },
    /// Answer once every acknowledgement that may go out is in the outgoing queue.
    Flush(oneshot::Sender<()>),
}

/// Where acknowledgements go. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Acks {
    tx: mpsc::UnboundedSender<AckMsg>,
    open: Arc<AtomicBool>,
}

impl Acks {
    /// The sending side and what [`acker`] receives.
    pub(crate) fn channel() -> (Self, mpsc::UnboundedReceiver<AckMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicBool::new(true));
        (Self { tx, open }, rx)
    }

    /// Nothing is acknowledged any more (shutdown cancelled the handlers that were running).
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Waits, at most `limit`, until every acknowledgement that may go out is in the client's
    /// outgoing queue: a graceful shutdown acknowledges what was handled before it disconnects.
    pub(crate) async fn flush(&self, limit: Duration) {
        let (flushed, done) = oneshot::channel();
        if self.tx.send(AckMsg::Flush(flushed)).is_ok() {
            let _ = tokio::time::timeout(limit, done).await;
        }
    }
}

/// Numbers the PUBLISHes of each connection in arrival order (the connection task's side).
#[derive(Debug)]
pub(crate) struct Sequencer {
    acks: Acks,
    epoch: Arc<AtomicU64>,
    next: u64,
}

impl Sequencer {
    /// `epoch` is shared with the [`acker`].
    pub(crate) fn new(acks: Acks, epoch: Arc<AtomicU64>) -> Self {
        Self {
            acks,
            epoch,
            next: 0,
        }
    }

    /// A new connection: what the previous one did not acknowledge is void (the broker
    /// delivers it again) and numbering starts over.
    pub(crate) fn connected(&mut self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.next = 0;
    }

    /// The guard of the next PUBLISH received.
    pub(crate) fn guard(&mut self, publish: Ack) -> AckGuard {
        let seq = self.next;
        self.next += 1;
        AckGuard {
            publish: Some(publish),
            epoch: self.epoch.load(Ordering::Acquire),
            seq,
            armed: AtomicBool::new(true),
            acks: self.acks.clone(),
        }
    }
}

/// Sends the acknowledgements through `client`, in arrival order, until the channel closes.
pub(crate) async fn acker(
    client: impl AckSender,
    mut rx: mpsc::UnboundedReceiver<AckMsg>,
    epoch: Arc<AtomicU64>,
) {
    let mut order = Order::default();
    while let Some(msg) = rx.recv().await {
        match msg {
            AckMsg::Done {
                epoch: of,
                seq,
                publish,
            } => {
                for publish in order.done(of, epoch.load(Ordering::Acquire), seq, publish) {
                    if client.ack(publish).await.is_err() {
                        return;
                    }
                }
            }
            AckMsg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// The acknowledgement order of the current connection.
#[derive(Debug, Default)]
struct Order {
    epoch: u64,
    /// The number of the oldest PUBLISH not acknowledged yet.
    next: u64,
    /// Done, waiting for an older one.
    waiting: BTreeMap<u64, Ack>,
}

impl Order {
    /// Records PUBLISH `seq` of connection `of` as done, `current` being the connection now;
    /// returns what may be acknowledged now, in order.
    fn done(&mut self, of: u64, current: u64, seq: u64, publish: Ack) -> Vec<Ack> {
        if of != current {
            return Vec::new();
        }
        if self.epoch != current {
            *self = Order {
                epoch: current,
                ..Order::default()
            };
        }
        self.waiting.insert(seq, publish);
        let mut ready = Vec::new();
        while let Some(publish) = self.waiting.remove(&self.next) {
            ready.push(publish);
            self.next += 1;
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(pkid: u16) -> Ack {
        Ack {
            qos: QoS::AtLeastOnce,
            pkid,
        }
    }

    fn pkids(ready: Vec<Ack>) -> Vec<u16> {
        ready.iter().map(|p| p.pkid).collect()
    }

    /// Finished in the order 2, 0, 3, 1: acknowledged 0 (with nothing before it), then 1, 2
    /// and 3 together once 1 is done.
    #[test]
    fn acknowledgements_follow_arrival_order() {
        let mut order = Order::default();
        assert_eq!(pkids(order.done(1, 1, 2, publish(12))), [] as [u16; 0]);
        assert_eq!(pkids(order.done(1, 1, 0, publish(10))), [10]);
        assert_eq!(pkids(order.done(1, 1, 3, publish(13))), [] as [u16; 0]);
        assert_eq!(pkids(order.done(1, 1, 1, publish(11))), [11, 12, 13]);
    }

    /// A new connection voids what was waiting and what is left of the old one, and numbering
    /// starts over.
    #[test]
    fn a_new_connection_starts_over() {
        let mut order = Order::default();
        assert_eq!(pkids(order.done(1, 1, 1, publish(11))), [] as [u16; 0]);
        assert_eq!(pkids(order.done(1, 2, 0, publish(10))), [] as [u16; 0]);
        assert_eq!(pkids(order.done(2, 2, 0, publish(20))), [20]);
        assert_eq!(pkids(order.done(2, 2, 1, publish(21))), [21]);
    }
}
