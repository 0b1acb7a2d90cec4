//! `examples/llm_worker.rs` against the memory worker: a handler that awaits another service's
//! reply while handling a request (the exchange that deadlocked in the Python system).

use std::time::Duration;

use serde_json::json;
use tars_mqtt::testing::TestClient;
use tars_mqtt::{Runtime, Service};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, unique};

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/llm_worker.rs"]
mod llm;

use crate::memory_worker::port as memory;

async fn the_llm_worker_asks_the_memory_worker_inside_its_handler(broker: TestBroker) {
    let url = broker.url();
    let config = |defaults: &tars_mqtt::service::ServiceDefaults| {
        defaults
            .builder()
            .url(&url)
            .protocol(tars_mqtt_it::protocol_of(&url))
            .build()
            .unwrap()
    };
    let memory = Runtime::service(
        config(&memory::MemoryWorker::INFO.defaults),
        memory::MemoryWorker::new(None, "TARS".into(), 5),
    )
    .start()
    .unwrap();
    let llm = llm::LlmWorker::new(Duration::from_secs(5))
        .start(config(&llm::LlmWorker::INFO.defaults))
        .unwrap();
    memory.wait_ready(WAIT).await.unwrap();
    llm.wait_ready(WAIT).await.unwrap();

    let mut peer = TestClient::connect(&url, &unique("peer")).await;
    peer.subscribe("llm/response").await;
    peer.publish_json(
        "stt/final",
        &json!({"id": "s1", "type": "stt.final", "data": {"text": "we met at the station"}}),
    )
    .await;
    // Several requests at once (as the router sends them: an `LLMRequest` with a `message_id`
    // and the request's own `id`), each awaiting its own correlated memory reply.
    for n in 0..5 {
        let data = json!({"id": format!("req-{n}"), "message_id": uuid::Uuid::new_v4().simple().to_string(), "text": "the station", "stream": false, "use_rag": true, "rag_k": 2});
        peer.publish_json(
            "llm/request",
            &json!({"id": format!("llm-{n}"), "type": "llm.request", "data": data}),
        )
        .await;
    }
    let response = crate::contracts::validator("llm.LLMResponse");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let reply = peer.expect("llm/response", WAIT).await.json();
        assert_eq!(reply["type"], "llm.response");
        crate::contracts::assert_valid(&response, &reply["data"], "the LLM response");
        assert_eq!(
            reply["data"]["id"]
                .as_str()
                .unwrap()
                .replace("req-", "llm-"),
            reply["id"].as_str().unwrap(),
            "the response carries the request's id"
        );
        assert!(
            reply["data"]["reply"]
                .as_str()
                .unwrap()
                .contains("we met at the station"),
            "{reply}"
        );
        ids.push(reply["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["llm-0", "llm-1", "llm-2", "llm-3", "llm-4"]);

    // Without the memory worker, the lookup fails after its timeout: the response says why.
    memory.shutdown().await;
    let slow = llm::LlmWorker::new(Duration::from_millis(300));
    llm.shutdown().await;
    let llm = slow.start(config(&llm::LlmWorker::INFO.defaults)).unwrap();
    llm.wait_ready(WAIT).await.unwrap();
    peer.publish_json(
        "llm/request",
        &json!({"id": "lonely", "type": "llm.request", "data": {"id": "req-lonely", "text": "anyone?"}}),
    )
    .await;
    let reply = peer.expect("llm/response", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["type"].clone()),
        (json!("lonely"), json!("llm.response"))
    );
    crate::contracts::assert_valid(&response, &reply["data"], "the failed LLM response");
    assert_eq!(reply["data"]["reply"], json!(null));
    assert!(
        reply["data"]["error"]
            .as_str()
            .unwrap()
            .contains("no reply"),
        "{reply}"
    );
    llm.shutdown().await;
}

broker_suite!(fresh: the_llm_worker_asks_the_memory_worker_inside_its_handler);
