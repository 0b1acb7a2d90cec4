//! Per-route metrics through the `metrics` facade, scraped from a Prometheus endpoint as
//! Prometheus reads it.

use std::net::Ipv4Addr;

use metrics_exporter_prometheus::PrometheusBuilder;
use tars_mqtt::testing::{EmbeddedBroker, TestClient};
use tars_mqtt::{Json, QoS, Route, Router};
use tars_mqtt_it::{config, start, unique, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(serde::Deserialize)]
struct Reading {
    celsius: f64,
}

async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    response
}

/// The value of the sample `name{labels}` in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

// The only test of this binary that installs the process's metrics recorder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_counters_and_timings_reach_prometheus() {
    let port = tars_mqtt::testing::free_port();
    PrometheusBuilder::new()
        .with_http_listener((Ipv4Addr::LOCALHOST, port))
        .install()
        .expect("the recorder is installed once");
    let broker = EmbeddedBroker::start();
    let route = unique("metered");
    let router = Router::new().route(
        Route::new(
            format!("{route}/{{room}}"),
            |Json(r): Json<Reading>| async move {
                if r.celsius > 60.0 {
                    Err(std::io::Error::other("too hot"))
                } else {
                    Ok(())
                }
            },
        )
        .name(route.clone())
        .qos(QoS::AtLeastOnce),
    );
    let service = start(config(&broker.url(), &unique("svc")), router, ()).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for payload in [
        r#"{"celsius":20}"#,
        r#"{"celsius":21}"#,
        r#"{"celsius":90}"#,
        "[]",
    ] {
        peer.publish(
            &format!("{route}/kitchen"),
            payload,
            QoS::AtLeastOnce,
            false,
        )
        .await;
    }
    let stats = service.route(&route).unwrap().stats();
    wait_until("four runs", || stats.succeeded() + stats.failed() == 4).await;
    let text = scrape(port).await;
    let label = format!("route=\"{route}\"");
    let value = |name: &str, extra: &str| {
        let series = format!("{name}{{{label}{extra}}}");
        sample(&text, &series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(value("tars_mqtt_messages_received_total", ""), 4.0);
    assert_eq!(value("tars_mqtt_messages_handled_total", ""), 2.0);
    assert_eq!(
        value("tars_mqtt_messages_failed_total", ",kind=\"handler\""),
        1.0
    );
    assert_eq!(
        value("tars_mqtt_messages_failed_total", ",kind=\"decode\""),
        1.0
    );
    assert_eq!(
        value("tars_mqtt_messages_failed_total", ",kind=\"panic\""),
        0.0
    );
    assert_eq!(value("tars_mqtt_processing_seconds_count", ""), 4.0);
    assert!(value("tars_mqtt_processing_seconds_sum", "") > 0.0);
    service.shutdown().await;
}
