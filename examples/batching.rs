//! Extension: a batching publisher. Items are collected and published as one envelope
//! (`{"items": [...]}`) when the batch is full, when the interval elapses, and on close, so a
//! chatty producer sends few messages and loses nothing at shutdown.
//!
//! Run: `cargo run --example batching`

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tars_mqtt::Publisher;
use tokio::sync::{mpsc, oneshot};

enum Command {
    Push(Value),
    Close(oneshot::Sender<()>),
}

/// Publishes batches of items to one topic.
pub struct BatchPublisher {
    tx: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl BatchPublisher {
    /// Batches of at most `max_items`, published at least every `interval` while not empty.
    pub fn new(
        publisher: Publisher,
        topic: &str,
        event_type: &str,
        max_items: usize,
        interval: Duration,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel(max_items.max(1) * 4);
        let (topic, event_type) = (topic.to_owned(), event_type.to_owned());
        let task = tokio::spawn(async move {
            let mut batch: Vec<Value> = Vec::with_capacity(max_items);
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let closing = tokio::select! {
                    command = rx.recv() => match command {
                        Some(Command::Push(item)) => {
                            batch.push(item);
                            if batch.len() < max_items {
                                continue;
                            }
                            None
                        }
                        Some(Command::Close(done)) => Some(Some(done)),
                        None => Some(None),
                    },
                    _ = tick.tick() => None,
                };
                if !batch.is_empty() {
                    let items = std::mem::take(&mut batch);
                    let data = serde_json::json!({ "items": items });
                    if let Err(e) = publisher.event(&topic, &event_type, &data).await {
                        tracing::error!(error = %e, "batch not published");
                    }
                }
                if let Some(done) = closing {
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
            }
        });
        Self { tx, task }
    }

    /// Adds an item (waits when the producer is far ahead of the broker).
    pub async fn push<T: Serialize>(&self, item: &T) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(item)?;
        let _ = self.tx.send(Command::Push(value)).await;
        Ok(())
    }

    /// Publishes what is left and stops.
    pub async fn close(self) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(Command::Close(done)).await.is_ok() {
            let _ = flushed.await;
        }
        let _ = self.task.await;
    }
}

#[allow(dead_code)]
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let broker = tars_mqtt::testing::EmbeddedBroker::start();
    let config = tars_mqtt::MqttConfig::builder()
        .url(broker.url())
        .client_id("batcher")
        .build()?;
    let service = tars_mqtt::Runtime::new(config, tars_mqtt::Router::<()>::new(), ()).start()?;
    service.wait_ready(Duration::from_secs(10)).await?;
    let batches = BatchPublisher::new(
        service.publisher(),
        "metrics/batch",
        "metrics.batch",
        100,
        Duration::from_secs(1),
    );
    for n in 0..250 {
        batches.push(&serde_json::json!({ "n": n })).await?;
    }
    batches.close().await; // two full batches and the last 50
    service.shutdown().await;
    println!("published 250 items in 3 batches");
    Ok(())
}
