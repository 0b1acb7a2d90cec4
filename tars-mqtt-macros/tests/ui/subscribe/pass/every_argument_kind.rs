use serde::Deserialize;
use tars_mqtt::prelude::*;
use tars_mqtt::extract::{ExtractError, FromMessage, State, TopicParams};

#[derive(Deserialize)]
struct Reading {
    celsius: f64,
}

/// An extractor of the user's own.
struct Hops(usize);

impl<S> FromMessage<S> for Hops {
    fn from_message(msg: &Context, _: &std::sync::Arc<S>) -> Result<Self, ExtractError> {
        Ok(Hops(msg.topic().split('/').count()))
    }
}

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("sensors/{room}/temp/{floor}")]
    async fn temp(
        &self,
        room: String,
        reading: Envelope<Reading>,
        ctx: &Context,
        floor: u8,
        topic: Topic,
        params: TopicParams,
        raw: Raw,
        publisher: Publisher,
        state: State<Svc>,
        #[extract] hops: Hops,
    ) {
        let _ = (room, reading.data.celsius, ctx.topic(), floor, topic, params, raw, publisher, state, hops.0);
    }

    #[subscribe("plain/json")]
    async fn plain(&self, Json(reading): Json<Reading>) {
        let _ = reading.celsius;
    }
}

fn main() {}
