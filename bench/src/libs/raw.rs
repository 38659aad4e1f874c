//! The ceiling: plain std sockets, no ZeroMQ library. The sender writes pre-encoded ZMTP data
//! frames (flags and length header, then the body) in writes of about 64 KiB, the receiver only
//! counts bytes; latency is a 1-frame ping-pong. What the machine's loopback and kernel allow,
//! not a messaging library: no greeting, no queues, no per-message work.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _, Result};

use crate::json::Line;
use crate::worker::{self, Job, Role, Transport, WARM_UP};

/// Target size of one write of the sender.
const WRITE_SIZE: usize = 64 * 1024;

/// A connected stream of either transport.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Unix(s) => s.flush(),
        }
    }
}

pub(crate) fn run(job: &Job) -> Result<Line> {
    let (size, count) = (job.size, job.count);
    match job.role {
        Role::ThrRecv => count_bytes(accept(job)?, size, count),
        Role::ThrOneProcess if job.transport == Transport::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let sender = std::thread::spawn(move || {
                let conn = TcpStream::connect(addr)?;
                conn.set_nodelay(true)?;
                write_frames(Conn::Tcp(conn), size, count)
            });
            let (conn, _) = listener.accept()?;
            conn.set_nodelay(true)?;
            let line = count_bytes(Conn::Tcp(conn), size, count)?;
            sender
                .join()
                .map_err(|_| anyhow!("sender thread panicked"))??;
            Ok(line)
        }
        Role::ThrSend if job.threads == 1 => {
            write_frames(connect(job)?, size, count)?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::LatEcho => {
            let mut conn = accept(job)?;
            let mut buf = vec![0u8; frame(size).len()];
            for i in 0..WARM_UP + count {
                if i == WARM_UP {
                    worker::work_starts();
                }
                conn.read_exact(&mut buf)?;
                conn.write_all(&buf)?;
            }
            Ok(Line::new().number("round_trips", count as f64))
        }
        Role::LatPing => {
            let mut conn = connect(job)?;
            let frame = frame(size);
            let mut buf = vec![0u8; frame.len()];
            let mut rtts = Vec::new();
            for i in 0..WARM_UP + count {
                if i == WARM_UP {
                    worker::work_starts();
                }
                let start = Instant::now();
                conn.write_all(&frame)?;
                conn.read_exact(&mut buf)?;
                if i >= WARM_UP {
                    rtts.push(start.elapsed());
                }
            }
            Ok(worker::latency(rtts))
        }
        Role::ConnectMany => {
            let endpoint = job.connect_endpoint()?;
            let held = super::zmtp::connect_many(endpoint, count)?;
            worker::say(&Line::new().number("connected", held.len() as f64));
            // Hold the connections until the orchestrator has measured the router.
            worker::wait_for_orchestrator()?;
            drop(held);
            Ok(Line::new().number("released", count as f64))
        }
        _ => Err(anyhow!(
            "not supported: the raw baseline has only one stream per direction (no inproc, \
             no pub/sub, no shared socket, no ROUTER)"
        )),
    }
}

/// One ZMTP data frame of `size` bytes (RFC 23 §"Framing": a short frame has flags 0x00 and a
/// 1-byte length, a long frame flags 0x02 and an 8-byte big-endian length).
pub(crate) fn frame(size: usize) -> Vec<u8> {
    let mut frame = match u8::try_from(size) {
        Ok(short) => vec![0x00, short],
        Err(_) => {
            let mut long = vec![0x02];
            long.extend_from_slice(&(size as u64).to_be_bytes());
            long
        }
    };
    frame.resize(frame.len() + size, 0);
    frame
}

/// Writes `count` frames of `size` bytes as whole frames packed into ~64 KiB writes.
fn write_frames(mut conn: Conn, size: usize, count: u64) -> Result<()> {
    let one = frame(size);
    let per_write = (WRITE_SIZE / one.len()).max(1) as u64;
    let chunk = one.repeat(usize::try_from(per_write)?);
    worker::work_starts();
    for _ in 0..count / per_write {
        conn.write_all(&chunk)?;
    }
    let rest = usize::try_from(count % per_write)?;
    conn.write_all(&chunk[..rest * one.len()])?;
    conn.flush()?;
    Ok(())
}

/// Reads until `count` frames' worth of bytes arrived; the clock starts after the first read,
/// and the frames completed by that read are not counted as timed.
fn count_bytes(mut conn: Conn, size: usize, count: u64) -> Result<Line> {
    let frame_len = frame(size).len() as u64;
    let total = frame_len * count;
    let mut buf = vec![0u8; 256 * 1024];
    worker::work_starts();
    let first = conn.read(&mut buf)? as u64;
    let start = Instant::now();
    let mut got = first;
    while got < total {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            bail!("sender closed after {got} of {total} bytes");
        }
        got += n as u64;
    }
    let timed = count - first / frame_len;
    Ok(worker::throughput(size, timed, start.elapsed()))
}

fn accept(job: &Job) -> Result<Conn> {
    match job.transport {
        Transport::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            worker::announce(&format!("tcp://{}", listener.local_addr()?));
            let (conn, _) = listener.accept()?;
            conn.set_nodelay(true)?;
            Ok(Conn::Tcp(conn))
        }
        Transport::Ipc => {
            let ep = job.bind_endpoint()?;
            let path = ep.strip_prefix("ipc://").context("ipc endpoint")?;
            let listener = UnixListener::bind(path)?;
            worker::announce(&ep);
            let (conn, _) = listener.accept()?;
            Ok(Conn::Unix(conn))
        }
        Transport::Inproc | Transport::TcpCurve => Err(worker::unsupported(job)),
    }
}

fn connect(job: &Job) -> Result<Conn> {
    let ep = job.connect_endpoint()?;
    if let Some(addr) = ep.strip_prefix("tcp://") {
        let conn = TcpStream::connect(addr)?;
        conn.set_nodelay(true)?;
        Ok(Conn::Tcp(conn))
    } else if let Some(path) = ep.strip_prefix("ipc://") {
        Ok(Conn::Unix(UnixStream::connect(path)?))
    } else {
        Err(worker::unsupported(job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_use_short_and_long_headers() {
        assert_eq!(frame(2), [0x00, 2, 0, 0]);
        assert_eq!(frame(255).len(), 257);
        let long = frame(256);
        assert_eq!(long[..9], [0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(long.len(), 9 + 256);
    }
}
