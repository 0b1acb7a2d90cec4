"""A Python peer of the memory worker, written the way the Python services write MQTT code:
paho-mqtt (MQTT 3.1.1) and json.dumps. It sends the recorded example envelopes of the Python
services and checks the documented answers, validating every message the worker publishes with
python-jsonschema against the JSON Schemas of the Python models.

With PROTOCOL 5 it speaks MQTT 5 (paho's MQTTv5 client) and also sends a query with a Response
Topic and Correlation Data, which must be answered there with the correlation data echoed.

Usage: python3 tests/python/peer.py HOST PORT CONTRACTS_DIR [PROTOCOL]
Prints one line per check; exits 0 when all passed, 1 at the first failure.
"""

import json
import pathlib
import queue
import sys
import threading

import paho.mqtt.client as mqtt
from jsonschema import Draft202012Validator

WAIT = 10.0
SUBSCRIPTIONS = ["memory/results", "character/result", "system/character/current", "system/health/#"]
REPLIES = "python-peer/replies"
MODEL_OF = {
    REPLIES: "memory.MemoryResults",
    "memory/results": "memory.MemoryResults",
    "system/character/current": "memory.CharacterSnapshot",
    "system/health/tars-memory": "health.HealthPing",
    "system/health/memory": "health.HealthPing",
}


class Peer:
    def __init__(self, host, port, contracts, v5):
        self.contracts = contracts
        self.examples = {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in (contracts / "envelopes").glob("*.json")
        }
        self.sent = set()
        self.inbox = queue.Queue()
        self.correlation = None
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id="python-peer",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        self.client.on_message = lambda client, userdata, msg: self.inbox.put(
            (msg.topic, msg.payload, getattr(msg.properties, "CorrelationData", None))
        )
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        topics = SUBSCRIPTIONS + ([REPLIES] if v5 else [])
        self.client.subscribe([(topic, 1) for topic in topics])
        check(subscribed.wait(WAIT), "subscribed")

    def validator(self, model):
        schema = json.loads((self.contracts / "schemas" / f"{model}.json").read_text())
        return Draft202012Validator(schema)

    def send(self, name, properties=None):
        """Publishes an example as the Python client would: json.dumps, its topic, QoS, retain."""
        example = self.examples[name]
        payload = json.dumps(example["payload"]).encode()
        self.sent.add(payload)
        self.client.publish(
            example["topic"], payload, qos=example["qos"], retain=example["retain"], properties=properties
        ).wait_for_publish(WAIT)

    def next_on(self, topic):
        """The next message the worker publishes on `topic`, validated against its model."""
        while True:
            try:
                got, payload, correlation = self.inbox.get(timeout=WAIT)
            except queue.Empty:
                fail(f"nothing on {topic} within {WAIT} s")
            if payload in self.sent:
                continue
            message = json.loads(payload)
            self.validate(got, message)
            if got == topic:
                self.correlation = correlation
                return message

    def validate(self, topic, message):
        errors = list(self.validator("envelope.Envelope").iter_errors(message))
        model = MODEL_OF.get(topic)
        if topic == "character/result":
            model = "memory.CharacterSection" if "section" in message["data"] else "memory.CharacterSnapshot"
        if model is not None:
            errors += list(self.validator(model).iter_errors(message["data"]))
        check(not errors, f"{topic} validates as {model}", "; ".join(e.message for e in errors))


def check(ok, what, detail=""):
    if not ok:
        fail(f"{what}: {detail}")
    print(f"ok: {what}")


def fail(why):
    print(f"FAILED: {why}")
    sys.exit(1)


def main():
    host, port, contracts = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
    v5 = len(sys.argv) > 4 and sys.argv[4] == "5"
    peer = Peer(host, port, contracts, v5)
    snapshot = peer.next_on("system/character/current")
    check(snapshot["id"] == snapshot["data"]["message_id"], "the snapshot's id is its message_id")

    peer.send("stt.final")
    peer.send("tts.say")
    peer.send("memory.query.recent")
    recent = peer.next_on("memory/results")
    texts = [r["document"]["text"] for r in recent["data"]["results"]]
    check(recent["id"] == "rag-2a3b", "memory/results carries the query's envelope id", recent["id"])
    check(texts == ["hello, naïve café ✓", "hello world"], "recent returns the stored texts, newest first", texts)

    peer.send("memory.query.hybrid")
    hybrid = peer.next_on("memory/results")
    check((hybrid["id"], hybrid["data"]["query"], hybrid["data"]["k"]) == ("rag-1f2e", "where did we meet", 2),
          "llm-worker's query (with message_id) is answered", hybrid["data"])

    peer.send("character.get")
    section = peer.next_on("character/result")
    check((section["id"], section["data"]["section"]) == ("76f5efaec6be4d92b6c8a30758a053d1", "traits"),
          "character/get is answered under its id", section)
    check(section["data"]["value"] == {"humor": 75, "honesty": 90}, "the traits section", section["data"])

    peer.send("character.update.trait")
    updated = peer.next_on("system/character/current")
    check((updated["id"], updated["data"]["traits"]["humor"]) == (snapshot["id"], 80),
          "a trait update republishes the snapshot under the same id", updated)
    peer.send("character.update.reset")
    reset = peer.next_on("system/character/current")
    check(reset["id"] != snapshot["id"] and reset["data"]["traits"]["humor"] == 75,
          "a reset republishes the traits of character.toml under a new id", reset)
    if v5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        request = Properties(PacketTypes.PUBLISH)
        request.ResponseTopic = REPLIES
        request.CorrelationData = b"python-corr-1"
        peer.send("memory.query.hybrid", request)
        answer = peer.next_on(REPLIES)
        check(peer.correlation == b"python-corr-1", "MQTT 5: the answer echoes the correlation data", peer.correlation)
        check((answer["id"], answer["type"]) == ("rag-1f2e", "memory.results"),
              "MQTT 5: the query is answered on its response topic", answer)
    peer.client.loop_stop()
    peer.client.disconnect()
    print("all checks passed")


if __name__ == "__main__":
    main()
