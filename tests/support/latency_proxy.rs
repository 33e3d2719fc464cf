//! A TCP proxy on 127.0.0.1 that delays every byte by a chosen time in each
//! direction (a network's round trip, on loopback) and can cut its
//! connections on demand: how the tests and the bench put a real libSQL
//! server at a real distance.
//!
//! Bytes are delayed, not throttled: each chunk read is forwarded once its
//! time has come, while reading goes on, so requests in flight overlap as
//! they would on a network.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A running proxy; dropping it stops it and closes its connections.
pub struct LatencyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    /// One-way delay, in microseconds.
    delay_us: AtomicU64,
    /// Connections accepted so far.
    accepted: AtomicU64,
    /// While set, new connections are closed at once (the link is down).
    refusing: AtomicBool,
    /// Bumped to cut every open connection.
    cuts: watch::Sender<u64>,
}

impl LatencyProxy {
    /// Proxies 127.0.0.1:(a free port) to `upstream`, delaying each
    /// direction by `one_way`.
    pub async fn start(upstream: SocketAddr, one_way: Duration) -> io::Result<LatencyProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cuts, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            upstream,
            delay_us: AtomicU64::new(one_way.as_micros() as u64),
            accepted: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            cuts,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(LatencyProxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the one-way delay for bytes forwarded from now on.
    pub fn set_delay(&self, one_way: Duration) {
        self.shared
            .delay_us
            .store(one_way.as_micros() as u64, Ordering::Relaxed);
    }

    /// Closes every open connection now.
    pub fn cut(&self) {
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Takes the link down (`true`: open connections are cut and new ones
    /// closed at once) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.shared.refusing.store(down, Ordering::SeqCst);
        if down {
            self.cut();
        }
    }

    /// How many connections clients opened through the proxy.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        if shared.refusing.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut cut = shared.cuts.subscribe();
            let Ok(server) = TcpStream::connect(shared.upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let up = pump(client_read, server_write, Arc::clone(&shared));
            let down = pump(server_read, client_write, Arc::clone(&shared));
            tokio::select! {
                _ = async { tokio::join!(up, down) } => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Forwards what `from` sends to `to`, each chunk once the delay since it
/// was read has passed; ends when either side closes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
) {
    let (chunks, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let delay = Duration::from_micros(shared.delay_us.load(Ordering::Relaxed));
                    if chunks
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
