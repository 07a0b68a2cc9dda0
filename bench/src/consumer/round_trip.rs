//! A stand-in for the network between Lambda and DynamoDB: a proxy on
//! 127.0.0.1 in front of DynamoDB Local that holds every answer for a fixed
//! time before passing it on, so each request costs a round trip as it does in
//! a region. DynamoDB Local answers over loopback in about a millisecond of the
//! CPU it shares with the benchmark; without a round trip, requests sent side
//! by side queue on that CPU, and the figure says more of the machine than of
//! the consumer.
//!
//! Only answers are held: a request is one round trip, however many packets
//! it takes. Each chunk of an answer leaves `delay` after it arrived, so chunks
//! that follow one another are not held twice.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
    time::Instant,
};

/// The proxy, while it runs; dropped, it stops taking connections.
pub struct RoundTrip {
    pub url: String,
    accepting: JoinHandle<()>,
}

impl RoundTrip {
    /// A proxy to `upstream` (`http://host:port`) adding `delay` to every answer.
    pub async fn start(upstream: &str, delay: Duration) -> std::io::Result<Self> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|err| std::io::Error::other(format!("{upstream}: {err}")))?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, delay));
            }
        });
        Ok(Self { url, accepting })
    }
}

impl Drop for RoundTrip {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// One connection: requests pass at once, answers `delay` late.
async fn relay(client: TcpStream, upstream: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
        let _ = to_server.shutdown().await;
    });
    let (held, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reading = tokio::spawn(async move {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buffer).await {
            if held
                .send((Instant::now() + delay, buffer[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    while let Some((at, chunk)) = due.recv().await {
        tokio::time::sleep_until(at).await;
        if to_client.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = to_client.shutdown().await;
    requests.abort();
    reading.abort();
}
