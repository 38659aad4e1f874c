//! The echo scenario (issue 11): many plain tcp clients sending `size`-byte messages to a raw
//! echo server, which sends every byte back. The same client process ([`clients`], one mio
//! thread) drives every server: ferrozmq's STREAM socket, libzmq's STREAM socket (their loops
//! are in `libs/`), and two servers written here, one on [`mio`] ([`mio_server`], the
//! practical limit of an event loop) and one on tokio ([`tokio_server`]).
//!
//! Each client keeps `depth` messages in flight (1: request-response; more: pipelining); an
//! echo is complete when the client has read back as many bytes as it sent up to that
//! message. Reported: echoes per second over the whole run (first send to last echo), the
//! p99 round trip, and, from the server process only, `cpu_ns` (its CPU time while serving),
//! so the CPU figure is the server's per echo. Servers run until the orchestrator closes
//! their stdin.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::json::Line;
use crate::worker::{self, Job};

/// Bytes read per call by the servers written here.
const READ_CHUNK: usize = 64 * 1024;

/// A thread that sets the flag when the orchestrator closes stdin (or says anything), and
/// runs `wake` so a blocked server notices.
pub(crate) fn stop_signal(wake: impl FnOnce() + Send + 'static) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let _ = worker::wait_for_orchestrator();
        flag.store(true, Ordering::Release);
        wake();
    });
    stop
}

/// The mio echo server: one thread, edge-triggered, each connection's unsent echo kept in
/// its own buffer.
pub(crate) fn mio_server(job: &Job) -> Result<Line> {
    worker::ensure_open_files(job.clients as u64 + 256)?;
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
    const LISTENER: Token = Token(usize::MAX - 1);
    const WAKER: Token = Token(usize::MAX - 2);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    worker::announce(&format!("tcp://{}", listener.local_addr()?));
    let stop = {
        let waker = waker.clone();
        stop_signal(move || {
            let _ = waker.wake();
        })
    };
    worker::work_starts();
    let mut conns: Vec<Option<(TcpStream, Vec<u8>)>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut echoed = 0u64;
    while !stop.load(Ordering::Acquire) {
        poll.poll(&mut events, None)?;
        for ev in &events {
            match ev.token() {
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            s.set_nodelay(true)?;
                            let t = Token(conns.len());
                            poll.registry().register(
                                &mut s,
                                t,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns.push(Some((s, Vec::new())));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    }
                },
                WAKER => {}
                Token(i) => {
                    let Some(slot) = conns.get_mut(i) else {
                        continue;
                    };
                    let Some((s, pending)) = slot else { continue };
                    let open = serve_mio(s, pending, &mut buf, &mut echoed);
                    if !open {
                        *slot = None;
                    }
                }
            }
        }
    }
    Ok(Line::new().number("echoed_bytes", echoed as f64))
}

/// Reads what there is and echoes it; false once the connection is over.
fn serve_mio(s: &mut TcpStream, pending: &mut Vec<u8>, buf: &mut [u8], echoed: &mut u64) -> bool {
    // First what an earlier write left, then new input, until the kernel pushes back.
    loop {
        if !pending.is_empty() {
            match s.write(pending) {
                Ok(n) => {
                    pending.drain(..n);
                    *echoed += n as u64;
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        match s.read(buf) {
            Ok(0) => return false,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// The tokio echo server: a task per connection on a runtime of two worker threads (the
/// machine's cores), `read` then `write_all`.
pub(crate) fn tokio_server(job: &Job) -> Result<Line> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    worker::ensure_open_files(job.clients as u64 + 256)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        worker::announce(&format!("tcp://{}", listener.local_addr()?));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        stop_signal(move || {
            let _ = tx.send(());
        });
        worker::work_starts();
        loop {
            tokio::select! {
                _ = &mut rx => break,
                accepted = listener.accept() => {
                    let (mut s, _) = accepted?;
                    s.set_nodelay(true)?;
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; READ_CHUNK];
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if s.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Line::new())
}

/// One client connection of the load generator.
struct Client {
    stream: TcpStream,
    /// Send times of the messages whose echo is not complete yet.
    in_flight: VecDeque<Instant>,
    /// Bytes of the current message not yet written.
    unsent: usize,
    /// Echo bytes read towards the oldest message in flight.
    got: usize,
}

/// The load generator: `clients` connections, each with `depth` (`--threads`) messages in
/// flight, until `count` echoes are complete.
pub(crate) fn clients(job: &Job) -> Result<Line> {
    let (size, count, depth) = (job.size.max(1), job.count, job.threads.max(1));
    worker::ensure_open_files(job.clients as u64 + 256)?;
    let addr: SocketAddr = job
        .connect_endpoint()?
        .trim_start_matches("tcp://")
        .parse()
        .context("echo clients need a tcp endpoint")?;
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(job.clients);
    // One connection at a time: the server's accept queue never overflows (a dropped SYN
    // would cost a second's retry).
    for i in 0..job.clients {
        let s = StdTcpStream::connect(addr).with_context(|| format!("client {i} connecting"))?;
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(s);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(Client {
            stream,
            in_flight: VecDeque::with_capacity(depth),
            unsent: 0,
            got: 0,
        });
    }
    let payload = vec![0x42u8; size];
    let mut buf = vec![0u8; READ_CHUNK];
    let mut round_trips = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let (mut started, mut done) = (0u64, 0u64);
    let begin = Instant::now();
    // Prime every connection, then serve events.
    for c in &mut conns {
        pump(c, &payload, depth, &mut started, count)?;
    }
    let mut events = Events::with_capacity(1024);
    let deadline = begin + Duration::from_secs(40);
    while done < count {
        poll.poll(&mut events, Some(Duration::from_secs(1)))?;
        if Instant::now() > deadline {
            bail!("only {done} of {count} echoes within 40 s");
        }
        for ev in &events {
            let Some(c) = conns.get_mut(ev.token().0) else {
                continue;
            };
            // Read echoes.
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => bail!("the server closed a connection"),
                    Ok(mut n) => {
                        while n > 0 {
                            let take = n.min(size - c.got);
                            c.got += take;
                            n -= take;
                            if c.got == size {
                                c.got = 0;
                                let Some(sent) = c.in_flight.pop_front() else {
                                    bail!("more echo bytes than sent");
                                };
                                round_trips.push(sent.elapsed());
                                done += 1;
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            pump(c, &payload, depth, &mut started, count)?;
        }
    }
    let elapsed = begin.elapsed();
    round_trips.sort_unstable();
    let p = |q: f64| {
        let i = ((round_trips.len() as f64 * q).ceil() as usize).clamp(1, round_trips.len());
        round_trips[i - 1].as_secs_f64() * 1e6
    };
    Ok(Line::new()
        .number(
            "echoes_per_sec",
            (done as f64 / elapsed.as_secs_f64()).round(),
        )
        .number("p50_rt_us", (p(0.50) * 10.0).round() / 10.0)
        .number("p99_rt_us", (p(0.99) * 10.0).round() / 10.0))
}

/// Keeps `depth` messages in flight on one connection, writing as far as the kernel takes.
fn pump(c: &mut Client, payload: &[u8], depth: usize, started: &mut u64, count: u64) -> Result<()> {
    loop {
        if c.unsent == 0 {
            if c.in_flight.len() >= depth || *started >= count {
                return Ok(());
            }
            c.in_flight.push_back(Instant::now());
            c.unsent = payload.len();
            *started += 1;
        }
        let from = payload.len() - c.unsent;
        match c.stream.write(&payload[from..]) {
            Ok(n) => c.unsent -= n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io::Error::from(e.kind()).into()),
        }
    }
}
