//! Shared helpers for the integration tests: hex fixtures, raw peer bytes, and a [`Pair`]
//! harness that wires two sessions together with virtual time.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrozmq_proto::codec::{Command, Greeting, Metadata};
use ferrozmq_proto::{Session, SessionConfig, SessionError, SessionEvent, SocketType};

/// Loads `testdata/NAME.hex`: hex digits, whitespace ignored, `#` starts a comment.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let digits: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(digits).unwrap()
}

/// A greeting a raw peer would send.
pub fn greeting(major: u8, minor: u8, mechanism: &'static [u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    Greeting::new(major, minor, mechanism, false).encode(&mut out);
    out.to_vec()
}

/// A READY command a raw peer would send.
pub fn ready(socket_type: &str, identity: Option<&'static [u8]>) -> Vec<u8> {
    let mut md = Metadata::new();
    md.insert(
        "Socket-Type",
        Bytes::copy_from_slice(socket_type.as_bytes()),
    );
    if let Some(id) = identity {
        md.insert("Identity", id);
    }
    command(&Command::Ready(md))
}

pub fn command(cmd: &Command) -> Vec<u8> {
    let mut out = BytesMut::new();
    cmd.encode(&mut out);
    out.to_vec()
}

/// Feeds `bytes` to `session` in one call (or one byte per call), collecting events.
pub fn feed(
    session: &mut Session,
    bytes: &[u8],
    one_at_a_time: bool,
    now: Instant,
) -> (Vec<SessionEvent>, Result<(), SessionError>) {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let chunk = if one_at_a_time { 1 } else { bytes.len().max(1) };
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        let result = session.handle_input(&mut buf, now);
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
        if result.is_err() {
            return (events, result);
        }
    }
    (events, Ok(()))
}

/// Takes everything a session has queued for output.
pub fn drain(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::with_capacity(session.pending_output_len());
    while !session.pending_output().is_empty() {
        let run = session.pending_output();
        let n = run.len();
        out.extend_from_slice(run);
        session.consume_output(n);
    }
    out
}

/// Two sessions joined back to back, with virtual time.
pub struct Pair {
    pub a: Session,
    pub b: Session,
    a_in: BytesMut,
    b_in: BytesMut,
    pub base: Instant,
    pub now: Instant,
    pub one_byte_at_a_time: bool,
    pub a_events: Vec<SessionEvent>,
    pub b_events: Vec<SessionEvent>,
}

impl Pair {
    pub fn new(a: SessionConfig, b: SessionConfig) -> Pair {
        let base = Instant::now();
        Pair {
            a: Session::new(a, base),
            b: Session::new(b, base),
            a_in: BytesMut::new(),
            b_in: BytesMut::new(),
            base,
            now: base,
            one_byte_at_a_time: false,
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    pub fn of(a: SocketType, b: SocketType) -> Pair {
        Pair::new(SessionConfig::new(a), SessionConfig::new(b))
    }

    /// Moves bytes both ways until neither side has output left.
    pub fn drive(&mut self) -> Result<(), SessionError> {
        loop {
            let (now, one) = (self.now, self.one_byte_at_a_time);
            let ab = move_bytes(
                &mut self.a,
                &mut self.b,
                &mut self.b_in,
                &mut self.b_events,
                now,
                one,
            )?;
            let ba = move_bytes(
                &mut self.b,
                &mut self.a,
                &mut self.a_in,
                &mut self.a_events,
                now,
                one,
            )?;
            if !ab && !ba {
                return Ok(());
            }
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Runs both sessions' timers at the current virtual time.
    pub fn tick(&mut self) -> (Result<(), SessionError>, Result<(), SessionError>) {
        (
            self.a.handle_timeout(self.now),
            self.b.handle_timeout(self.now),
        )
    }
}

/// Moves `from`'s pending output into `to`; false if there was none.
fn move_bytes(
    from: &mut Session,
    to: &mut Session,
    inbuf: &mut BytesMut,
    events: &mut Vec<SessionEvent>,
    now: Instant,
    one_byte_at_a_time: bool,
) -> Result<bool, SessionError> {
    let out = drain(from);
    if out.is_empty() {
        return Ok(false);
    }
    let chunk = if one_byte_at_a_time { 1 } else { out.len() };
    for piece in out.chunks(chunk) {
        inbuf.extend_from_slice(piece);
        to.handle_input(inbuf, now)?;
        while let Some(e) = to.poll_event() {
            events.push(e);
        }
    }
    Ok(true)
}
