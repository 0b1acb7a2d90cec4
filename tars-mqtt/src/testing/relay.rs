//! A loopback relay in front of the embedded rumqttd, so that no packet waits for a delayed ACK.
//!
//! rumqttd 0.20 accepts its own sockets and never sets `TCP_NODELAY` on them, so when it writes
//! two small packets back to back (an acknowledgement, then a publish) Nagle's algorithm holds the
//! second until the first is acknowledged, and the receiving kernel delays that ACK by up to
//! 40 ms. Every request/reply round trip through it took ~85 ms. The relay accepts the clients
//! itself (with `TCP_NODELAY`), connects to rumqttd on a private port (with `TCP_NODELAY`) and
//! acknowledges everything rumqttd sends at once (`TCP_QUICKACK`, set again after every read, as
//! Linux clears it), so rumqttd's Nagle never waits more than a loopback round trip.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Relays every connection to `listen` to `upstream` until the process exits; runs on its own
/// thread with its own runtime, like rumqttd's servers. Returns once `listen` is bound.
pub(super) fn spawn(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name(format!("relay-{}", listen.port()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the relay");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                accept_loop(listener, upstream).await;
            });
        })?;
    Ok(())
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                tokio::spawn(async move {
                    if let Err(e) = relay(client, upstream).await {
                        tracing::debug!(error = %e, "relay connection ended");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "relay accept failed"),
        }
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
    let broker = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    broker.set_nodelay(true)?;
    let (client_rx, client_tx) = client.into_split();
    let (broker_rx, broker_tx) = broker.into_split();
    // Either direction ending (a close or a reset) ends both, as a direct connection would.
    tokio::select! {
        r = pump(client_rx, broker_tx, false) => r,
        r = pump(broker_rx, client_tx, true) => r,
    }
}

/// Copies until end of stream; with `quickack`, acknowledges each read at once.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, quickack: bool) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        if quickack {
            ack_at_once(from.as_ref());
        }
        to.write_all(&buf[..n]).await?;
    }
}

#[cfg(target_os = "linux")]
fn ack_at_once(stream: &TcpStream) {
    // Best effort: without it the relay still works, only slower.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn ack_at_once(_: &TcpStream) {}
