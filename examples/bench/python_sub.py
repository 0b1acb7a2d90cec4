"""The Python side of the benchmark: what the services being migrated do per message.

paho-mqtt receives, orjson parses, pydantic validates the envelope and its data into models
(as the Python services' `Envelope` model does) and the reply envelope is encoded again. Same
protocol as the bench's `sub` role: prints `ready` once subscribed, then one JSON line with
`received`, `secs` (first message to last) and `cpu_secs` (this process's CPU time meanwhile).

    python3 python_sub.py <port> <topic> <qos> <count>
"""

import sys
import threading
import time
import uuid

import orjson
import paho.mqtt.client as mqtt
from pydantic import BaseModel, Field


class Reading(BaseModel):
    text: str
    confidence: float
    is_final: bool
    seq: int


class Envelope(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    type: str
    ts: float = Field(default_factory=time.time)
    source: str = "router"
    data: Reading


def main() -> None:
    port, topic, qos, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    state = {"received": 0, "first": None, "last": None}
    done = threading.Event()
    subscribed = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(topic, qos)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.set()

    def on_message(client, userdata, message):
        envelope = Envelope.model_validate(orjson.loads(message.payload))
        reply = Envelope(type="stt.ack", source="py", data=envelope.data)
        orjson.dumps(reply.model_dump())
        now = time.perf_counter()
        if state["first"] is None:
            state["first"] = now
        state["last"] = now
        state["received"] += 1
        if state["received"] >= count:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-py-{uuid.uuid4().hex[:8]}")
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    if not subscribed.wait(30):
        sys.exit("no SUBACK within 30 s")
    cpu_before = time.process_time()
    print("ready", flush=True)
    last_seen, idle_since = -1, time.monotonic()
    while not done.wait(0.05):
        if state["received"] != last_seen:
            last_seen, idle_since = state["received"], time.monotonic()
        elif state["received"] > 0 and time.monotonic() - idle_since > 3:
            break
    cpu = time.process_time() - cpu_before
    secs = (state["last"] - state["first"]) if state["first"] is not None else 0.0
    print(orjson.dumps({"received": state["received"], "secs": secs, "cpu_secs": cpu}).decode(), flush=True)
    client.loop_stop()
    client.disconnect()


if __name__ == "__main__":
    main()
