//! The two implementations under test behind one small blocking interface, [`Peer`], so every
//! scenario is written once and run with ferrozmq and libzmq in either role.
//!
//! Every receive waits at most [`TIMEOUT`], so a lost message fails the test instead of hanging
//! it; every failure names the implementation and socket type it came from.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use ferrozmq::{Bytes, Message, SocketOption, SocketType};

/// How long any single send or receive may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// A message as a list of frames.
pub(crate) type Frames = Vec<Vec<u8>>;

/// Which ZeroMQ implementation a socket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Impl {
    Ferrozmq,
    Libzmq,
}

impl Impl {
    /// The other implementation.
    pub(crate) fn other(self) -> Impl {
        match self {
            Impl::Ferrozmq => Impl::Libzmq,
            Impl::Libzmq => Impl::Ferrozmq,
        }
    }
}

/// A transport both implementations support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Ipc,
}

/// An endpoint to bind, owning its ipc file (removed on drop) so parallel tests never share one.
#[derive(Debug)]
pub(crate) struct BindAddress {
    endpoint: String,
    ipc_path: Option<PathBuf>,
}

impl BindAddress {
    /// An ephemeral tcp port on the loopback interface, or a fresh ipc path in the temp dir.
    pub(crate) fn new(transport: Transport) -> BindAddress {
        match transport {
            Transport::Tcp => BindAddress {
                endpoint: "tcp://127.0.0.1:*".to_owned(),
                ipc_path: None,
            },
            Transport::Ipc => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("fzmq-interop-{}-{n}.ipc", std::process::id()));
                let _ = std::fs::remove_file(&path);
                BindAddress {
                    endpoint: format!("ipc://{}", path.display()),
                    ipc_path: Some(path),
                }
            }
        }
    }

    /// The endpoint to pass to `bind`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for BindAddress {
    fn drop(&mut self) {
        if let Some(path) = &self.ipc_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One socket of either implementation. Methods panic with a descriptive message on failure.
pub(crate) trait Peer: Send + fmt::Debug {
    /// Binds and returns the resolved endpoint to connect to.
    fn bind(&self, endpoint: &str) -> String;
    /// Connects to an endpoint.
    fn connect(&self, endpoint: &str);
    /// Sets the routing id announced to peers; call before `bind`/`connect`.
    fn set_routing_id(&self, id: &[u8]);
    /// Lifts the send high-water mark (a ROUTER drops messages at the mark instead of
    /// blocking); call before `bind`/`connect`.
    fn set_unlimited_sndhwm(&self);
    /// Sends a multipart message, failing after [`TIMEOUT`].
    fn send(&self, frames: &[Vec<u8>]);
    /// Sends a multipart message without waiting more than `timeout`; false if not sent.
    fn send_within(&self, frames: &[Vec<u8>], timeout: Duration) -> bool;
    /// Receives a multipart message, failing after [`TIMEOUT`].
    fn recv(&self) -> Frames {
        self.recv_within(TIMEOUT)
            .unwrap_or_else(|| panic!("{self:?}: no message within {TIMEOUT:?}"))
    }
    /// Receives a multipart message if one arrives within `timeout`.
    fn recv_within(&self, timeout: Duration) -> Option<Frames>;
    /// Binds like `bind`, but hands a failure back as text instead of failing the test (to
    /// retry an address that a socket just closed may still hold).
    fn try_bind(&self, endpoint: &str) -> Result<String, String>;
    /// Subscribes a SUB socket to messages whose first frame starts with `topic`.
    fn subscribe(&self, topic: &[u8]);
    /// Cancels one earlier `subscribe` to `topic` on a SUB socket.
    fn unsubscribe(&self, topic: &[u8]);
    /// Makes an XPUB hand every subscription to the application, repeated ones included
    /// (ZMQ_XPUB_VERBOSE); call before `bind`/`connect`.
    fn set_xpub_verbose(&self);
}

/// A new socket of the given implementation and type.
pub(crate) fn socket(imp: Impl, socket_type: SocketType) -> Box<dyn Peer> {
    match imp {
        Impl::Ferrozmq => Box::new(Ferrozmq::new(socket_type)),
        Impl::Libzmq => Box::new(Libzmq::new(socket_type)),
    }
}

/// Asserts that `got` equals `want` frame by frame, describing a mismatch by lengths and the
/// first differing byte rather than dumping megabytes.
#[track_caller]
pub(crate) fn assert_frames(what: &str, got: &[Vec<u8>], want: &[Vec<u8>]) {
    if got == want {
        return;
    }
    let mut report = format!("{what}: got {} frame(s), want {}\n", got.len(), want.len());
    for i in 0..got.len().max(want.len()) {
        let describe = |f: Option<&Vec<u8>>| match f {
            None => "(missing)".to_owned(),
            Some(f) => format!("{} bytes {:?}", f.len(), preview(f)),
        };
        let (g, w) = (got.get(i), want.get(i));
        let mark = if g == w { "  " } else { "!=" };
        report += &format!(
            "  {mark} frame {i}: got {}, want {}",
            describe(g),
            describe(w)
        );
        if let (Some(g), Some(w)) = (g, w) {
            if let Some(at) = g.iter().zip(w.iter()).position(|(a, b)| a != b) {
                report += &format!(" (first difference at byte {at})");
            }
        }
        report.push('\n');
    }
    panic!("{report}");
}

/// The first bytes of a frame, as text where printable.
fn preview(frame: &[u8]) -> String {
    let head = &frame[..frame.len().min(24)];
    let text = String::from_utf8_lossy(head).into_owned();
    if frame.len() > head.len() {
        text + "..."
    } else {
        text
    }
}

/// A ferrozmq socket.
struct Ferrozmq {
    socket: ferrozmq::Socket,
    socket_type: SocketType,
}

impl Ferrozmq {
    fn new(socket_type: SocketType) -> Ferrozmq {
        let socket = ferrozmq::Socket::new(socket_type);
        let peer = Ferrozmq {
            socket,
            socket_type,
        };
        peer.set(SocketOption::Linger(Some(Duration::from_secs(1))));
        peer
    }

    fn set(&self, option: SocketOption) {
        let name = option.name();
        if let Err(e) = self.socket.set_option(option) {
            panic!("{self:?}: setting {name}: {e}");
        }
    }
}

impl fmt::Debug for Ferrozmq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ferrozmq {}", self.socket_type.name())
    }
}

impl Peer for Ferrozmq {
    fn bind(&self, endpoint: &str) -> String {
        self.socket
            .bind(endpoint)
            .unwrap_or_else(|e| panic!("{self:?}: bind {endpoint}: {e}"))
    }

    fn connect(&self, endpoint: &str) {
        if let Err(e) = self.socket.connect(endpoint) {
            panic!("{self:?}: connect {endpoint}: {e}");
        }
    }

    fn set_routing_id(&self, id: &[u8]) {
        self.set(SocketOption::RoutingId(Bytes::copy_from_slice(id)));
    }

    fn set_unlimited_sndhwm(&self) {
        self.set(SocketOption::SndHwm(0));
    }

    fn send(&self, frames: &[Vec<u8>]) {
        if let Err(e) = self.socket.send_timeout(to_message(frames), Some(TIMEOUT)) {
            panic!("{self:?}: send of {} frame(s): {e}", frames.len());
        }
    }

    fn send_within(&self, frames: &[Vec<u8>], timeout: Duration) -> bool {
        self.socket
            .send_timeout(to_message(frames), Some(timeout))
            .is_ok()
    }

    fn recv_within(&self, timeout: Duration) -> Option<Frames> {
        match self.socket.recv_timeout(Some(timeout)) {
            Ok(msg) => Some(msg.frames().iter().map(|f| f.to_vec()).collect()),
            Err(ferrozmq::RecvError::Timeout) => None,
            Err(e) => panic!("{self:?}: recv: {e}"),
        }
    }

    fn try_bind(&self, endpoint: &str) -> Result<String, String> {
        self.socket.bind(endpoint).map_err(|e| e.to_string())
    }

    fn subscribe(&self, topic: &[u8]) {
        self.set(SocketOption::Subscribe(Bytes::copy_from_slice(topic)));
    }

    fn unsubscribe(&self, topic: &[u8]) {
        self.set(SocketOption::Unsubscribe(Bytes::copy_from_slice(topic)));
    }

    fn set_xpub_verbose(&self) {
        self.set(SocketOption::XpubVerbose(true));
    }
}

fn to_message(frames: &[Vec<u8>]) -> Message {
    frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
}

/// A libzmq socket (through the `zmq` crate), in one context shared by all tests.
struct Libzmq {
    socket: zmq::Socket,
    socket_type: SocketType,
}

impl Libzmq {
    fn new(socket_type: SocketType) -> Libzmq {
        static CONTEXT: OnceLock<zmq::Context> = OnceLock::new();
        let kind = match socket_type {
            SocketType::Pair => zmq::PAIR,
            SocketType::Pub => zmq::PUB,
            SocketType::Sub => zmq::SUB,
            SocketType::Req => zmq::REQ,
            SocketType::Rep => zmq::REP,
            SocketType::Dealer => zmq::DEALER,
            SocketType::Router => zmq::ROUTER,
            SocketType::Pull => zmq::PULL,
            SocketType::Push => zmq::PUSH,
            SocketType::XPub => zmq::XPUB,
            SocketType::XSub => zmq::XSUB,
            SocketType::Stream => zmq::STREAM,
            other => panic!("no libzmq socket type for {other:?}"),
        };
        let socket = CONTEXT
            .get_or_init(zmq::Context::new)
            .socket(kind)
            .expect("libzmq socket");
        socket.set_linger(1000).expect("libzmq ZMQ_LINGER");
        Libzmq {
            socket,
            socket_type,
        }
    }
}

impl fmt::Debug for Libzmq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "libzmq {}", self.socket_type.name())
    }
}

/// libzmq takes time-outs as milliseconds in an `i32`.
fn millis(timeout: Duration) -> i32 {
    i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
}

impl Peer for Libzmq {
    fn bind(&self, endpoint: &str) -> String {
        if let Err(e) = self.socket.bind(endpoint) {
            panic!("{self:?}: bind {endpoint}: {e}");
        }
        self.socket
            .get_last_endpoint()
            .expect("ZMQ_LAST_ENDPOINT")
            .expect("ZMQ_LAST_ENDPOINT is UTF-8")
    }

    fn connect(&self, endpoint: &str) {
        if let Err(e) = self.socket.connect(endpoint) {
            panic!("{self:?}: connect {endpoint}: {e}");
        }
    }

    fn set_routing_id(&self, id: &[u8]) {
        self.socket.set_identity(id).expect("libzmq ZMQ_ROUTING_ID");
    }

    fn set_unlimited_sndhwm(&self) {
        self.socket.set_sndhwm(0).expect("libzmq ZMQ_SNDHWM");
    }

    fn send(&self, frames: &[Vec<u8>]) {
        self.socket
            .set_sndtimeo(millis(TIMEOUT))
            .expect("ZMQ_SNDTIMEO");
        if let Err(e) = self.socket.send_multipart(frames, 0) {
            panic!("{self:?}: send of {} frame(s): {e}", frames.len());
        }
    }

    fn send_within(&self, frames: &[Vec<u8>], timeout: Duration) -> bool {
        self.socket
            .set_sndtimeo(millis(timeout))
            .expect("ZMQ_SNDTIMEO");
        self.socket.send_multipart(frames, 0).is_ok()
    }

    fn recv_within(&self, timeout: Duration) -> Option<Frames> {
        self.socket
            .set_rcvtimeo(millis(timeout))
            .expect("ZMQ_RCVTIMEO");
        match self.socket.recv_multipart(0) {
            Ok(frames) => Some(frames),
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("{self:?}: recv: {e}"),
        }
    }

    fn try_bind(&self, endpoint: &str) -> Result<String, String> {
        self.socket.bind(endpoint).map_err(|e| e.to_string())?;
        Ok(self
            .socket
            .get_last_endpoint()
            .expect("ZMQ_LAST_ENDPOINT")
            .expect("ZMQ_LAST_ENDPOINT is UTF-8"))
    }

    fn subscribe(&self, topic: &[u8]) {
        if let Err(e) = self.socket.set_subscribe(topic) {
            panic!("{self:?}: ZMQ_SUBSCRIBE {topic:?}: {e}");
        }
    }

    fn unsubscribe(&self, topic: &[u8]) {
        if let Err(e) = self.socket.set_unsubscribe(topic) {
            panic!("{self:?}: ZMQ_UNSUBSCRIBE {topic:?}: {e}");
        }
    }

    fn set_xpub_verbose(&self) {
        self.socket
            .set_xpub_verbose(true)
            .expect("libzmq ZMQ_XPUB_VERBOSE");
    }
}
