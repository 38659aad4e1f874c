//! Transports: tcp and ipc (Unix domain) streams and listeners behind one type each, so the
//! engine handles both the same way. inproc needs no transport: it joins pipes directly
//! (see `context.rs`).
//!
//! Unix only (Linux tested): ipc is a Unix domain socket, and `ipc://@NAME` (the abstract
//! namespace) exists on Linux and Android only; elsewhere it is refused with
//! [`BindError::Io`] / a failed connect of kind `Unsupported`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::endpoint::{tcp_endpoint, TcpDst};
use crate::error::BindError;
use crate::Options;

/// A connected byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Ipc(mio::net::UnixStream),
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    Ipc(mio::net::UnixListener),
}

/// Where a connect goes.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A tcp destination (an address, or a name resolved before each attempt) and the local
    /// address to bind the connection to (`tcp://SOURCE;HOST:PORT`).
    Tcp {
        dst: TcpDst,
        source: Option<SocketAddr>,
    },
    Ipc(PathBuf),
}

impl Target {
    /// Starts a non-blocking connect to `resolved` (the address a tcp name resolved to, if
    /// the target is one); completion shows as writability.
    pub(crate) fn connect(
        &self,
        resolved: Option<SocketAddr>,
        opts: &Options,
    ) -> io::Result<Stream> {
        match self {
            Target::Tcp { dst, source } => {
                let addr = match (dst, resolved) {
                    (_, Some(addr)) => addr,
                    (TcpDst::Addr(addr), None) => *addr,
                    (TcpDst::Name { host, .. }, None) => {
                        return Err(io::Error::other(format!("{host} is not resolved yet")))
                    }
                };
                let s = match source {
                    None => mio::net::TcpStream::connect(addr)?,
                    Some(src) => connect_from(*src, addr)?,
                };
                tune_tcp(&s, opts);
                Ok(Stream::Tcp(s))
            }
            Target::Ipc(path) => match abstract_name(path) {
                Some(name) => connect_abstract(name).map(Stream::Ipc),
                None => Ok(Stream::Ipc(mio::net::UnixStream::connect(path)?)),
            },
        }
    }

    /// The host name to resolve before each attempt, if the target is one.
    pub(crate) fn name_to_resolve(&self) -> Option<(&str, u16)> {
        match self {
            Target::Tcp {
                dst: TcpDst::Name { host, port },
                ..
            } => Some((host, *port)),
            _ => None,
        }
    }

    /// The target as an endpoint, for monitor events and logs.
    pub(crate) fn endpoint(&self) -> String {
        match self {
            Target::Tcp {
                dst: TcpDst::Addr(addr),
                ..
            } => tcp_endpoint(*addr),
            Target::Tcp {
                dst: TcpDst::Name { host, port },
                ..
            } => format!("tcp://{host}:{port}"),
            Target::Ipc(path) => format!("ipc://{}", path.display()),
        }
    }
}

/// A non-blocking tcp connect from a given local address (SO_REUSEADDR, so a fixed source
/// port can be reused by the next attempt).
fn connect_from(src: SocketAddr, dst: SocketAddr) -> io::Result<mio::net::TcpStream> {
    let domain = socket2::Domain::for_address(dst);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.bind(&src.into())?;
    sock.set_nonblocking(true)?;
    match sock.connect(&dst.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(sock.into()))
}

/// The name of an `ipc://@NAME` endpoint (the Linux abstract namespace), if it is one.
pub(crate) fn abstract_name(path: &Path) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().strip_prefix(b"@")
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "ipc://@NAME (the abstract namespace) exists on Linux only",
    ))
}

/// Connects to an abstract-namespace socket without blocking: a listener whose backlog is
/// full makes a blocking Unix connect wait until it accepts, which on the reactor thread would
/// stall every other connection. Non-blocking, that listener answers `EAGAIN`: a failed
/// attempt, retried with the connect's back-off.
fn connect_abstract(name: &[u8]) -> io::Result<mio::net::UnixStream> {
    // The platform check (the abstract namespace is Linux's).
    abstract_addr(name)?;
    let socket = connect_unix_nonblocking(&abstract_sockaddr(name)?)?;
    Ok(mio::net::UnixStream::from_std(socket.into()))
}

/// The abstract name as a socket2 address (a leading NUL byte marks the namespace).
fn abstract_sockaddr(name: &[u8]) -> io::Result<socket2::SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let mut path = Vec::with_capacity(name.len() + 1);
    path.push(0);
    path.extend_from_slice(name);
    socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&path))
}

/// A non-blocking Unix stream socket connected (or refused) at once.
fn connect_unix_nonblocking(addr: &socket2::SockAddr) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.connect(addr)?;
    Ok(socket)
}

impl Stream {
    /// Whether a non-blocking connect finished: `Ok(true)` connected, `Ok(false)` still going.
    pub(crate) fn connect_finished(&self) -> io::Result<bool> {
        let (err, peer) = match self {
            Stream::Tcp(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
            Stream::Ipc(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
        };
        if let Some(e) = err {
            return Err(e);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The peer's address for logs and monitor events.
    pub(crate) fn peer_name(&self) -> String {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(tcp_endpoint).unwrap_or_default(),
            Stream::Ipc(_) => String::new(),
        }
    }
}

impl Listener {
    /// Accepts one connection.
    pub(crate) fn accept(&self, opts: &Options) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                tune_tcp(&s, opts);
                Ok(Stream::Tcp(s))
            }
            Listener::Ipc(l) => Ok(Stream::Ipc(l.accept()?.0)),
        }
    }
}

/// Applies TCP_NODELAY (as libzmq does), keep-alive and buffer sizes.
fn tune_tcp(s: &mio::net::TcpStream, opts: &Options) {
    let _ = s.set_nodelay(true);
    let sock = socket2::SockRef::from(s);
    if let Some(on) = opts.tcp_keepalive {
        let _ = sock.set_keepalive(on);
        if on {
            let mut ka = socket2::TcpKeepalive::new();
            if let Some(t) = opts.tcp_keepalive_idle {
                ka = ka.with_time(t);
            }
            if let Some(t) = opts.tcp_keepalive_intvl {
                ka = ka.with_interval(t);
            }
            if let Some(n) = opts.tcp_keepalive_cnt {
                ka = ka.with_retries(n);
            }
            let _ = sock.set_tcp_keepalive(&ka);
        }
    }
    if let Some(n) = opts.sndbuf {
        let _ = sock.set_send_buffer_size(n);
    }
    if let Some(n) = opts.rcvbuf {
        let _ = sock.set_recv_buffer_size(n);
    }
}

/// Binds a tcp listener (SO_REUSEADDR, as libzmq) and returns it with its resolved endpoint.
pub(crate) fn bind_tcp(addr: SocketAddr, opts: &Options) -> Result<(Listener, String), BindError> {
    match bind_tcp_once(addr, opts) {
        // `*` with ZMQ_IPV6 on a system without IPv6: IPv4 only, as libzmq falls back.
        Err(BindError::Io(e))
            if addr.is_ipv6()
                && addr.ip().is_unspecified()
                && e.raw_os_error() == Some(libc::EAFNOSUPPORT) =>
        {
            let v4 = SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, addr.port()));
            bind_tcp_once(v4, opts)
        }
        other => other,
    }
}

fn bind_tcp_once(addr: SocketAddr, opts: &Options) -> Result<(Listener, String), BindError> {
    let map = |e: io::Error| match e.kind() {
        io::ErrorKind::AddrInUse => BindError::AddrInUse(tcp_endpoint(addr)),
        io::ErrorKind::AddrNotAvailable => BindError::AddrNotAvailable(tcp_endpoint(addr)),
        _ => BindError::Io(e),
    };
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))
        .map_err(map)?;
    sock.set_reuse_address(true).map_err(map)?;
    // `[::]` with ZMQ_IPV6: dual stack, IPv4 too where the system allows (IPV6_V6ONLY off).
    if addr.is_ipv6() {
        let _ = sock.set_only_v6(false);
    }
    sock.bind(&addr.into()).map_err(map)?;
    sock.listen(i32::try_from(opts.backlog).unwrap_or(i32::MAX))
        .map_err(map)?;
    sock.set_nonblocking(true).map_err(map)?;
    let std_listener: std::net::TcpListener = sock.into();
    let local = std_listener.local_addr().map_err(map)?;
    Ok((
        Listener::Tcp(mio::net::TcpListener::from_std(std_listener)),
        tcp_endpoint(local),
    ))
}

/// Binds an ipc listener. A socket file left by a dead process (nobody accepts on it) is
/// replaced; a live one is not stolen ("address in use"); a path that is not a socket is
/// never removed.
pub(crate) fn bind_ipc(path: &Path) -> Result<Listener, BindError> {
    use std::os::unix::fs::FileTypeExt;
    let name = || format!("ipc://{}", path.display());
    if let Some(abstract_name) = abstract_name(path) {
        // No file: a name in use is simply refused by the kernel.
        let l = abstract_addr(abstract_name)
            .and_then(|a| std::os::unix::net::UnixListener::bind_addr(&a))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| match e.kind() {
                io::ErrorKind::AddrInUse => BindError::AddrInUse(name()),
                _ => BindError::Io(e),
            })?;
        return Ok(Listener::Ipc(mio::net::UnixListener::from_std(l)));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(BindError::AddrInUse(name()));
        }
        // Is anyone listening there? Asked without blocking: a live listener with a full
        // backlog answers EAGAIN (in use) instead of holding up this call.
        let live = socket2::SockAddr::unix(path).and_then(|a| connect_unix_nonblocking(&a));
        match live {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                let _ = std::fs::remove_file(path);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            _ => return Err(BindError::AddrInUse(name())),
        }
    }
    let l = mio::net::UnixListener::bind(path).map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => BindError::AddrInUse(name()),
        _ => BindError::Io(e),
    })?;
    Ok(Listener::Ipc(l))
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Ipc(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Ipc(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Ipc(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

macro_rules! delegate_source {
    ($ty:ident, $($variant:ident),+) => {
        impl Source for $ty {
            fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.register(r, t, i),)+ }
            }
            fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.reregister(r, t, i),)+ }
            }
            fn deregister(&mut self, r: &Registry) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.deregister(r),)+ }
            }
        }
    };
}
delegate_source!(Stream, Tcp, Ipc);
delegate_source!(Listener, Tcp, Ipc);
