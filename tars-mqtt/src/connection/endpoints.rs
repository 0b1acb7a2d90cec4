//! The broker endpoints of one connection (`MQTT_URL` may list several): the client options for
//! each, built once, and which one is in use. After a failed attempt or a lost connection the
//! connection moves to the next one, round and round, with the same backoff between attempts;
//! it stays where it is once connected (no fail-back, which would cut a working connection).

use rumqttc::TlsConfiguration;

use crate::config::{BrokerAddress, MqttConfig};
use crate::error::ConfigError;

/// The options of every endpoint and the index of the one in use.
pub(super) struct Endpoints<O> {
    options: Vec<O>,
    current: usize,
}

impl<O: Clone> Endpoints<O> {
    /// Builds the options of each of the configuration's brokers with `options`.
    pub(super) fn new(
        config: &MqttConfig,
        options: impl Fn(&BrokerAddress, Option<TlsConfiguration>) -> O,
    ) -> Result<Self, ConfigError> {
        // One TLS set-up (the CA file is read once) shared by every `mqtts://` endpoint.
        let tls = match config.brokers.iter().any(|b| b.tls) {
            true => Some(TlsConfiguration::from(crate::tls::client_config(config)?)),
            false => None,
        };
        let options = config
            .brokers
            .iter()
            .map(|broker| options(broker, tls.clone().filter(|_| broker.tls)))
            .collect();
        Ok(Self {
            options,
            current: 0,
        })
    }

    /// The options of the endpoint in use.
    pub(super) fn first(&self) -> O {
        self.options[0].clone()
    }

    /// Moves to the next endpoint: its index and options, or `None` when there is only one.
    pub(super) fn advance(&mut self) -> Option<(usize, O)> {
        if self.options.len() < 2 {
            return None;
        }
        self.current = (self.current + 1) % self.options.len();
        Some((self.current, self.options[self.current].clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_round_and_round_and_stays_with_one() {
        let config = MqttConfig::builder()
            .url("mqtt://a:1883,mqtt://b:1884,mqtt://c:1885")
            .client_id("t")
            .build()
            .unwrap();
        let mut endpoints = Endpoints::new(&config, |b, tls| (b.port, tls.is_some())).unwrap();
        assert_eq!(endpoints.first(), (1883, false));
        let order: Vec<_> = (0..4).map(|_| endpoints.advance().unwrap().0).collect();
        assert_eq!(order, [1, 2, 0, 1]);

        let one = MqttConfig::builder()
            .url("mqtt://a:1883")
            .client_id("t")
            .build()
            .unwrap();
        let mut endpoints = Endpoints::new(&one, |b, _| b.port).unwrap();
        assert_eq!(endpoints.advance(), None);
    }
}
