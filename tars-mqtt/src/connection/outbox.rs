//! What the client holds for the next connection.
//!
//! When a connection drops, rumqttc moves its unacknowledged publishes (with their packet ids)
//! and every request still queued into one list, which it sends first after reconnecting. Two
//! things lose messages there:
//!
//! - Queued publishes get their packet ids only as they are sent, past the in-flight window: a
//!   publish given the id of one still awaiting its acknowledgement is parked as a "collision",
//!   and the next one parked overwrites it. With a full window at the moment of a crash, most of
//!   the queue is lost.
//! - When the broker kept no session, the list is dropped, and a parked publish then blocks the
//!   client's queue for good.
//!
//! The outbox takes the queued publishes out of that list and hands them back with free packet
//! ids, one per acknowledgement, so that nothing is parked; and it keeps a copy of everything for
//! a broker that forgot the session, which the controller sends again once the service is ready.

use std::collections::{HashSet, VecDeque};

/// What the outbox needs of a rumqttc event loop (3.1.1 and 5 each have their own types).
pub(crate) trait Queue {
    /// The version's PUBLISH.
    type Publish: Clone;
    /// The version's request (what `pending` holds).
    type Request;

    /// Requests to send first on the next connection.
    fn pending(&mut self) -> &mut VecDeque<Self::Request>;
    /// The publish rumqttc parked for want of a free packet id.
    fn collision(&mut self) -> &mut Option<Self::Publish>;
    /// Packet ids in use: 1 to this.
    fn window(&self) -> u16;
    /// Sorts a pending request.
    fn sort(request: Self::Request) -> Pending<Self::Publish, Self::Request>;
    /// The publish a pending request sends, if it is one.
    fn publish(request: &Self::Request) -> Option<&Self::Publish>;
    /// The packet id a pending request holds (a numbered publish, or a PUBREL).
    fn holds(request: &Self::Request) -> Option<u16>;
    /// A publish as a request, with this packet id.
    fn numbered(publish: Self::Publish, pkid: u16) -> Self::Request;
    /// A publish's packet id.
    fn pkid(publish: &Self::Publish) -> u16;
    /// A publish's topic.
    fn topic(publish: &Self::Publish) -> &[u8];
}

/// A pending request, sorted.
pub(crate) enum Pending<P, R> {
    /// A QoS ≥ 1 publish without a packet id yet.
    Unnumbered(P),
    /// A SUBSCRIBE (the controller sends its own).
    Subscribe,
    /// Anything else, kept as it is.
    Keep(R),
}

#[derive(Debug)]
pub(crate) struct Outbox<P> {
    /// QoS ≥ 1 publishes without a packet id yet, oldest first.
    held: VecDeque<P>,
    /// Everything rumqttc and the outbox held at the last disconnection, for a lost session.
    unsent: Vec<P>,
    /// Packet id of the publish rumqttc had parked before the current poll.
    parked: Option<u16>,
}

impl<P> Default for Outbox<P> {
    fn default() -> Self {
        Self {
            held: VecDeque::new(),
            unsent: Vec::new(),
            parked: None,
        }
    }
}

impl<P: Clone> Outbox<P> {
    /// After a connection error: rumqttc has moved its in-flight publishes and the queued
    /// requests to `pending`. Publishes for which `skip` holds are left out of the copy.
    ///
    /// SUBSCRIBEs not sent yet are dropped: the controller subscribes again, after the
    /// CONNACK, to every filter the broker has not confirmed, and matches the SUBACKs with the
    /// packet ids of those new SUBSCRIBEs; an old one sent first would take its place.
    pub(crate) fn on_disconnect<Q>(&mut self, eventloop: &mut Q, skip: impl Fn(&[u8]) -> bool)
    where
        Q: Queue<Publish = P>,
    {
        let pending = std::mem::take(eventloop.pending());
        let mut kept = VecDeque::with_capacity(pending.len());
        for request in pending {
            match Q::sort(request) {
                Pending::Unnumbered(p) => self.held.push_back(p),
                Pending::Subscribe => {}
                Pending::Keep(other) => kept.push_back(other),
            }
        }
        *eventloop.pending() = kept;
        let collision = eventloop.collision().clone();
        self.unsent = eventloop
            .pending()
            .iter()
            .filter_map(Q::publish)
            .chain(collision.as_ref())
            .chain(&self.held)
            .filter(|p| !skip(Q::topic(p)))
            .cloned()
            .collect();
    }

    /// After a CONNACK. Without a session rumqttc has dropped its list: returns the copy to send
    /// again (and clears a parked publish, which it also holds). With a session, hands the held
    /// publishes the packet ids the retransmitted ones leave free.
    pub(crate) fn on_connack<Q>(&mut self, eventloop: &mut Q, session_present: bool) -> Vec<P>
    where
        Q: Queue<Publish = P>,
    {
        if !session_present {
            *eventloop.collision() = None;
            self.held.clear();
            return std::mem::take(&mut self.unsent);
        }
        self.unsent.clear();
        let mut busy: HashSet<u16> = eventloop.pending().iter().filter_map(Q::holds).collect();
        busy.extend(eventloop.collision().as_ref().map(Q::pkid));
        let free: Vec<u16> = (1..=eventloop.window())
            .filter(|pkid| !busy.contains(pkid))
            .collect();
        for pkid in free {
            self.release(eventloop, pkid);
        }
        Vec::new()
    }

    /// Before each poll.
    pub(crate) fn before_poll<Q: Queue<Publish = P>>(&mut self, eventloop: &mut Q) {
        self.parked = eventloop.collision().as_ref().map(Q::pkid);
    }

    /// After an acknowledgement freed `pkid` (PUBACK, or PUBCOMP for QoS 2): the next held
    /// publish takes it, unless rumqttc gave it to the publish it had parked.
    pub(crate) fn on_ack<Q: Queue<Publish = P>>(&mut self, eventloop: &mut Q, pkid: u16) {
        if self.parked != Some(pkid) {
            self.release(eventloop, pkid);
        }
    }

    fn release<Q: Queue<Publish = P>>(&mut self, eventloop: &mut Q, pkid: u16) {
        if let Some(publish) = self.held.pop_front() {
            eventloop.pending().push_back(Q::numbered(publish, pkid));
        }
    }
}

#[cfg(test)]
mod tests {
    use rumqttc::{
        AsyncClient, Event, EventLoop, MqttOptions, Outgoing, PubAck, Publish, QoS, Request,
    };

    use super::*;

    fn eventloop(inflight: u16) -> EventLoop {
        let mut options = MqttOptions::new("outbox", "127.0.0.1", 1883);
        options.set_inflight(inflight);
        AsyncClient::new(options, 10).1
    }

    fn publish(n: u8, pkid: u16) -> Request {
        let mut p = Publish::new("t", QoS::AtLeastOnce, vec![n]);
        p.pkid = pkid;
        Request::Publish(p)
    }

    /// Sends what is pending the way rumqttc does; returns the payloads sent and whether any
    /// publish was parked.
    fn send_pending(el: &mut EventLoop) -> (Vec<u8>, bool) {
        let mut sent = Vec::new();
        while let Some(request) = el.pending.pop_front() {
            if let Some(rumqttc::Packet::Publish(p)) =
                el.state.handle_outgoing_packet(request).unwrap()
            {
                sent.push(p.payload[0]);
            }
        }
        let parked = el
            .state
            .events
            .drain(..)
            .any(|e| matches!(e, Event::Outgoing(Outgoing::AwaitAck(_))));
        (sent, parked)
    }

    /// A full window of 4 in flight and 6 more queued at the crash, session kept: the 4 are
    /// sent again first, each acknowledgement lets one queued publish out, none is parked.
    #[test]
    fn queued_publishes_wait_for_free_packet_ids() {
        let mut el = eventloop(4);
        for n in 0..4 {
            el.pending.push_back(publish(n, n as u16 + 1));
        }
        for n in 4..10 {
            el.pending.push_back(publish(n, 0));
        }
        let mut outbox = Outbox::default();
        outbox.on_disconnect(&mut el, |_| false);
        assert!(outbox.on_connack(&mut el, true).is_empty());
        assert_eq!(send_pending(&mut el), (vec![0, 1, 2, 3], false));
        let mut sent = Vec::new();
        for pkid in [2, 1, 4, 3, 2, 1] {
            outbox.before_poll(&mut el);
            el.state
                .handle_incoming_packet(rumqttc::Incoming::PubAck(PubAck::new(pkid)))
                .unwrap();
            outbox.on_ack(&mut el, pkid);
            let (out, parked) = send_pending(&mut el);
            assert!(!parked);
            sent.extend(out);
        }
        assert_eq!(sent, [4, 5, 6, 7, 8, 9]);
    }

    /// Without the outbox, rumqttc parks the queued publishes one over the other.
    #[test]
    fn rumqttc_alone_overwrites_parked_publishes() {
        let mut el = eventloop(4);
        for n in 0..4 {
            el.state.handle_outgoing_packet(publish(n, 0)).unwrap();
        }
        el.pending.extend(el.state.clean());
        for n in 4..10 {
            el.pending.push_back(publish(n, 0));
        }
        let (sent, parked) = send_pending(&mut el);
        assert_eq!(sent, [0, 1, 2, 3]);
        assert!(parked);
        assert_eq!(el.state.collision.as_ref().map(|p| p.payload[0]), Some(9));
    }

    /// A broker that forgot the session: everything comes back as a copy, in order, without
    /// the skipped topics, and a parked publish no longer blocks the client.
    #[test]
    fn a_lost_session_returns_everything_in_order() {
        let mut el = eventloop(4);
        el.pending.push_back(publish(0, 1));
        let mut health = Publish::new("system/health/x", QoS::AtLeastOnce, vec![9]);
        health.pkid = 2;
        el.pending.push_back(Request::Publish(health));
        el.pending.push_back(publish(2, 0));
        let mut parked = Publish::new("t", QoS::AtLeastOnce, vec![1]);
        parked.pkid = 1;
        el.state.collision = Some(parked);
        let mut outbox = Outbox::default();
        outbox.on_disconnect(&mut el, |t| t.starts_with(b"system/"));
        el.pending.clear();
        let unsent = outbox.on_connack(&mut el, false);
        let payloads: Vec<u8> = unsent.iter().map(|p| p.payload[0]).collect();
        assert_eq!(payloads, [0, 1, 2]);
        assert!(el.state.collision.is_none());
    }

    /// A SUBSCRIBE still queued at the disconnection is not sent after the reconnection (the
    /// controller sends its own); the other requests are.
    #[test]
    fn queued_subscribes_are_left_to_the_controller() {
        let mut el = eventloop(4);
        el.pending
            .push_back(Request::Subscribe(rumqttc::Subscribe::new(
                "replies/x",
                QoS::AtLeastOnce,
            )));
        el.pending.push_back(publish(0, 1));
        el.pending.push_back(Request::PingReq(rumqttc::PingReq));
        let mut outbox = Outbox::default();
        outbox.on_disconnect(&mut el, |_| false);
        assert!(
            el.pending
                .iter()
                .all(|r| !matches!(r, Request::Subscribe(_)))
        );
        assert_eq!(el.pending.len(), 2);
    }
}
