//! The client side of the memory test: many idle tcp connections to a ROUTER, each finishing
//! a ZMTP 3.0 NULL handshake as a DEALER (greeting, READY) and then sending nothing. Written
//! with std sockets so every library's ROUTER faces exactly the same peers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

/// Connections opened before their handshakes are read, kept under the listen backlog (100
/// by default in libzmq and ferrozmq) so no SYN is dropped.
const BATCH: usize = 50;
/// Longest wait for one handshake.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(20);

/// Opens `count` connections to `endpoint` (`tcp://host:port`) and completes the handshake on
/// each; returns them, to be held open.
pub(crate) fn connect_many(endpoint: &str, count: u64) -> Result<Vec<TcpStream>> {
    let addr = endpoint
        .strip_prefix("tcp://")
        .context("connect-many needs a tcp endpoint")?;
    let hello = [greeting().as_slice(), &ready_command("DEALER")].concat();
    let count = usize::try_from(count)?;
    let mut held = Vec::with_capacity(count);
    while held.len() < count {
        let batch = BATCH.min(count - held.len());
        let mut fresh = Vec::with_capacity(batch);
        for _ in 0..batch {
            let mut conn = TcpStream::connect(addr)
                .with_context(|| format!("connection {} to {addr}", held.len() + fresh.len()))?;
            conn.set_read_timeout(Some(HANDSHAKE_WAIT))?;
            conn.write_all(&hello)?;
            fresh.push(conn);
        }
        for mut conn in fresh {
            read_handshake(&mut conn)
                .with_context(|| format!("handshake of connection {}", held.len()))?;
            held.push(conn);
        }
    }
    Ok(held)
}

/// RFC 23 §"The Greeting": signature, version 3.0, mechanism NULL, as-server 0, filler.
fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 0;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// RFC 23 §"The NULL Security Mechanism": a READY command with the Socket-Type property.
fn ready_command(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    // RFC 23 §"Framing": flags 0x04 = a short command frame.
    let mut frame = vec![0x04, u8::try_from(body.len()).unwrap_or(u8::MAX)];
    frame.extend_from_slice(&body);
    frame
}

/// Reads the peer's greeting and its READY command.
fn read_handshake(conn: &mut TcpStream) -> Result<()> {
    let mut greeting = [0u8; 64];
    conn.read_exact(&mut greeting)?;
    if greeting[0] != 0xff || greeting[9] != 0x7f {
        bail!("not a ZMTP greeting");
    }
    let mut flags = [0u8; 1];
    conn.read_exact(&mut flags)?;
    let len = if flags[0] & 0x02 != 0 {
        let mut len = [0u8; 8];
        conn.read_exact(&mut len)?;
        u64::from_be_bytes(len)
    } else {
        let mut len = [0u8; 1];
        conn.read_exact(&mut len)?;
        u64::from(len[0])
    };
    if flags[0] & 0x04 == 0 || len > 4096 {
        bail!(
            "expected a READY command, got flags {:#04x} length {len}",
            flags[0]
        );
    }
    let mut body = vec![0u8; usize::try_from(len)?];
    conn.read_exact(&mut body)?;
    if !body.starts_with(b"\x05READY") {
        bail!("expected READY");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_bytes() {
        let g = greeting();
        assert_eq!(g[..12], [0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0]);
        assert_eq!(&g[12..16], b"NULL");
        assert_eq!(g[16..], [0u8; 48]);
        let ready = ready_command("DEALER");
        assert_eq!(ready[..2], [0x04, 28]);
        assert_eq!(
            &ready[2..],
            b"\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER"
        );
    }
}
