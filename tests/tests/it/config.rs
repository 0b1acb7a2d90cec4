//! Configuration from the environment and the builder: the Python client's variables and rules.

use std::collections::HashMap;
use std::time::Duration;

use tars_mqtt::{ConfigError, MqttConfig};

fn from(vars: &[(&str, &str)]) -> Result<MqttConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    MqttConfig::builder().env(|k| map.get(k).cloned())?.build()
}

fn invalid_var(vars: &[(&str, &str)]) -> &'static str {
    match from(vars) {
        Err(ConfigError::Invalid { var, .. }) | Err(ConfigError::Missing { var }) => var,
        other => panic!("expected an error for {vars:?}, got {other:?}"),
    }
}

const BASE: [(&str, &str); 2] = [
    ("MQTT_URL", "mqtt://broker:1884"),
    ("MQTT_CLIENT_ID", "tars-memory"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    BASE.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn defaults_follow_the_wire_format() {
    let c = from(&BASE).unwrap();
    assert_eq!(
        (
            c.brokers[0].host.as_str(),
            c.brokers[0].port,
            c.brokers[0].tls
        ),
        ("broker", 1884, false)
    );
    assert_eq!(c.client_id, "tars-memory");
    assert_eq!(c.source, "tars-memory");
    assert_eq!(c.keepalive, Duration::from_secs(60));
    assert!(!c.health && !c.heartbeat);
    assert_eq!(c.heartbeat_interval, Duration::from_secs(5));
    assert_eq!(c.dedupe_ttl, None);
    assert_eq!(c.reconnect_min_delay, Duration::from_millis(500));
    assert_eq!(c.reconnect_max_delay, Duration::from_secs(5));
    assert!(!c.persistent_session);
    assert_eq!(c.max_packet_size, 1024 * 1024);
}

#[test]
fn every_variable_is_read() {
    let c = from(&with(&[
        ("MQTT_SOURCE_NAME", "memory-worker"),
        ("MQTT_KEEPALIVE", "30"),
        ("MQTT_ENABLE_HEALTH", "TRUE"),
        ("MQTT_ENABLE_HEARTBEAT", "yes"),
        ("MQTT_HEARTBEAT_INTERVAL", "2.5"),
        ("MQTT_DEDUPE_TTL", "30"),
        ("MQTT_DEDUPE_MAX_ENTRIES", "1000"),
        ("MQTT_RECONNECT_MIN_DELAY", "0.2"),
        ("MQTT_RECONNECT_MAX_DELAY", "10"),
        ("MQTT_PERSISTENT_SESSION", "on"),
        ("MQTT_MAX_PACKET_SIZE", "65536"),
    ]))
    .unwrap();
    assert_eq!(c.source, "memory-worker");
    assert_eq!(c.keepalive, Duration::from_secs(30));
    assert!(c.health && c.heartbeat && c.persistent_session);
    assert_eq!(c.heartbeat_interval, Duration::from_millis(2500));
    assert_eq!(c.dedupe_ttl, Some(Duration::from_secs(30)));
    assert_eq!(c.dedupe_max_entries, 1000);
    assert_eq!(c.reconnect_min_delay, Duration::from_millis(200));
    assert_eq!(c.reconnect_max_delay, Duration::from_secs(10));
    assert_eq!(c.max_packet_size, 65536);
}

#[test]
fn booleans_accept_clear_values_in_any_case_and_reject_the_rest() {
    for yes in ["true", "1", "yes", "on", "On", "YES"] {
        assert!(
            from(&with(&[("MQTT_ENABLE_HEALTH", yes)])).unwrap().health,
            "{yes}"
        );
    }
    for no in ["false", "0", "no", "off", "OFF"] {
        assert!(
            !from(&with(&[("MQTT_ENABLE_HEALTH", no)])).unwrap().health,
            "{no}"
        );
    }
    for bad in ["maybe", "2", "", "y"] {
        assert_eq!(
            invalid_var(&with(&[("MQTT_ENABLE_HEARTBEAT", bad)])),
            "MQTT_ENABLE_HEARTBEAT",
            "{bad}"
        );
    }
}

#[test]
fn invalid_values_name_the_variable() {
    assert_eq!(invalid_var(&[("MQTT_CLIENT_ID", "x")]), "MQTT_URL");
    assert_eq!(invalid_var(&[("MQTT_URL", "mqtt://h")]), "MQTT_CLIENT_ID");
    for id in ["", "a/b", "a+", "a#"] {
        assert_eq!(
            invalid_var(&[("MQTT_URL", "mqtt://h"), ("MQTT_CLIENT_ID", id)]),
            "MQTT_CLIENT_ID"
        );
    }
    let cases: [(&str, &str); 9] = [
        ("MQTT_KEEPALIVE", "0"),
        ("MQTT_KEEPALIVE", "3601"),
        ("MQTT_KEEPALIVE", "soon"),
        ("MQTT_HEARTBEAT_INTERVAL", "0.5"),
        ("MQTT_DEDUPE_TTL", "-1"),
        ("MQTT_RECONNECT_MIN_DELAY", "0.05"),
        ("MQTT_RECONNECT_MAX_DELAY", "0.2"),
        ("MQTT_DEDUPE_MAX_ENTRIES", "-3"),
        ("MQTT_MAX_PACKET_SIZE", "10"),
    ];
    for (var, value) in cases {
        assert_eq!(invalid_var(&with(&[(var, value)])), var, "{var}={value}");
    }
    assert_eq!(
        invalid_var(&with(&[
            ("MQTT_DEDUPE_TTL", "5"),
            ("MQTT_DEDUPE_MAX_ENTRIES", "0")
        ])),
        "MQTT_DEDUPE_MAX_ENTRIES"
    );
    assert_eq!(
        invalid_var(&with(&[
            ("MQTT_RECONNECT_MIN_DELAY", "3"),
            ("MQTT_RECONNECT_MAX_DELAY", "2")
        ])),
        "MQTT_RECONNECT_MAX_DELAY"
    );
    let err = from(&with(&[("MQTT_KEEPALIVE", "0")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MQTT_KEEPALIVE") && err.contains("1 to 3600"),
        "{err}"
    );
}

#[test]
fn urls_parse_with_defaults_tls_ipv6_and_percent_decoded_credentials() {
    let url =
        |u: &str| from(&[("MQTT_URL", u), ("MQTT_CLIENT_ID", "x")]).map(|c| c.brokers[0].clone());
    let b = url("mqtt://").unwrap();
    assert_eq!((b.host.as_str(), b.port), ("localhost", 1883));
    let b = url("mqtts://broker.example").unwrap();
    assert_eq!((b.port, b.tls), (8883, true));
    let b = url("mqtt://[::1]:1999").unwrap();
    assert_eq!((b.host.as_str(), b.port), ("::1", 1999));
    let b = url("mqtt://us%3Aer:p%40ss%2Fw%3Ard%25@h:1").unwrap();
    assert_eq!(b.username.as_deref(), Some("us:er"));
    assert_eq!(b.password.unwrap().expose(), "p@ss/w:rd%");
    let b = url("mqtt://user@h").unwrap();
    assert_eq!(
        (b.username.as_deref(), b.password.is_none()),
        (Some("user"), true)
    );
    for bad in [
        "http://h",
        "h:1883",
        "mqtt://h:0",
        "mqtt://h:99999",
        "mqtt://h:x",
        "mqtt://h/path",
        "mqtt://::1",
    ] {
        assert!(
            matches!(
                url(bad),
                Err(ConfigError::Invalid {
                    var: "MQTT_URL",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_url_list_gives_endpoints_in_order_each_with_its_own_credentials() {
    let c = from(&[
        (
            "MQTT_URL",
            "mqtt://a:p1@10.0.0.1:1883 , mqtts://b:p%2C2@[::1]:8884,mqtt://h3",
        ),
        ("MQTT_CLIENT_ID", "x"),
    ])
    .unwrap();
    let shown: Vec<String> = c.brokers.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "mqtt://10.0.0.1:1883",
            "mqtts://[::1]:8884",
            "mqtt://h3:1883"
        ]
    );
    assert_eq!(c.brokers[0].username.as_deref(), Some("a"));
    assert_eq!(c.brokers[1].password.as_ref().unwrap().expose(), "p,2");
    assert_eq!(c.brokers[2].username, None);
    // The CA file is for the `mqtts://` endpoints of the list.
    assert!(
        MqttConfig::builder()
            .url("mqtt://a,mqtts://b")
            .client_id("x")
            .ca_file("/ca.pem")
            .build()
            .is_ok()
    );

    for bad in [
        "mqtt://a,",
        ",mqtt://a",
        "mqtt://a,,mqtt://b",
        "mqtt://a,http://b",
    ] {
        let err = from(&[("MQTT_URL", bad), ("MQTT_CLIENT_ID", "x")]).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: "MQTT_URL",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    // Every password of a list stays out of the error.
    let err = from(&[
        ("MQTT_URL", "mqtt://u:secret1@a,mqtt://u:secret2@b:x"),
        ("MQTT_CLIENT_ID", "x"),
    ])
    .unwrap_err()
    .to_string();
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn the_password_never_prints() {
    let secret = "s3cr%21t";
    let c = from(&[
        ("MQTT_URL", "mqtt://svc:s3cr%21t@h"),
        ("MQTT_CLIENT_ID", "x"),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("s3cr") && debug.contains("***"), "{debug}");
    let err = from(&[
        ("MQTT_URL", "mqtt://svc:s3cr%21t@h:bad"),
        ("MQTT_CLIENT_ID", "x"),
    ])
    .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("s3cr") && !text.contains(secret), "{text}");
    }
}

#[test]
fn builder_overrides_env_and_env_overrides_earlier_settings() {
    let env: HashMap<&str, &str> = [
        ("MQTT_URL", "mqtt://from-env"),
        ("MQTT_CLIENT_ID", "env-id"),
        ("MQTT_KEEPALIVE", "20"),
    ]
    .into();
    let c = MqttConfig::builder()
        .keepalive(Duration::from_secs(90))
        .source("before-env")
        .env(|k| env.get(k).map(|v| v.to_string()))
        .unwrap()
        .client_id("builder-id")
        .build()
        .unwrap();
    assert_eq!(
        c.keepalive,
        Duration::from_secs(20),
        "env overrides what came before"
    );
    assert_eq!(
        c.source, "before-env",
        "unset variables keep earlier values"
    );
    assert_eq!(
        c.client_id, "builder-id",
        "later builder calls override env"
    );
    assert_eq!(c.brokers[0].host, "from-env");
}

#[test]
fn a_ca_file_needs_mqtts_and_must_be_readable() {
    let plain = MqttConfig::builder()
        .url("mqtt://h")
        .client_id("x")
        .ca_file("/tmp/ca.pem")
        .build();
    assert!(matches!(
        plain,
        Err(ConfigError::Invalid {
            var: "MQTT_CA_FILE",
            ..
        })
    ));
    let config = MqttConfig::builder()
        .url("mqtts://127.0.0.1")
        .client_id("x")
        .ca_file("/nonexistent/ca.pem")
        .build()
        .unwrap();
    let err = tars_mqtt::Runtime::new(config, tars_mqtt::Router::<()>::new(), ())
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}
