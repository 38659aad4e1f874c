//! Endpoint strings (`tcp://HOST:PORT`, `ipc://PATH`, `inproc://NAME`): parsing and resolution,
//! as libzmq resolves them.
//!
//! tcp: bind takes `*` (every IPv4 interface; with ZMQ_IPV6 a dual-stack `[::]`), a literal
//! address, an interface name (`tcp://lo:5555`, found with getifaddrs) or a host name; `*` or
//! `0` as the port asks for an ephemeral one, and the resolved endpoint (ZMQ_LAST_ENDPOINT) is
//! what `bind` returns. connect takes `tcp://[SOURCE;]HOST:PORT`: a source address (`*`, a
//! literal address or an interface name, with an optional `:PORT`) to bind the connection to,
//! and a host that, when it is a name, the engine resolves in the background before each
//! connection attempt (see `engine/resolve.rs`).
//!
//! ipc: `ipc://PATH`, or `ipc://@NAME` in the Linux abstract namespace (no file).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::error::EndpointError;

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `tcp://` with the text host and port (`None` port = ephemeral, bind only), and the
    /// source part of `tcp://SOURCE;HOST:PORT` (connect only).
    Tcp {
        host: String,
        port: Option<u16>,
        source: Option<(String, Option<u16>)>,
    },
    /// `ipc://` Unix domain socket path (`*` asks for a generated path on bind; a leading `@`
    /// names the Linux abstract namespace).
    Ipc(PathBuf),
    /// `inproc://` name.
    Inproc(String),
}

/// Where a tcp connect goes: a known address, or a name the engine resolves before each
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TcpDst {
    Addr(SocketAddr),
    Name { host: String, port: u16 },
}

impl Endpoint {
    /// Parses an endpoint string.
    pub(crate) fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let (scheme, rest) = s.split_once("://").ok_or(EndpointError::MissingTransport)?;
        let invalid = || EndpointError::InvalidAddress(rest.to_owned());
        match scheme {
            "tcp" => {
                let (source, dst) = match rest.split_once(';') {
                    Some((src, dst)) => {
                        let (h, p) = split_host_port(src).ok_or_else(invalid)?;
                        let p = match p {
                            Some(p) => parse_port(p).ok_or_else(invalid)?,
                            None => None,
                        };
                        (Some((h.to_owned(), p)), dst)
                    }
                    None => (None, rest),
                };
                let (host, port) = split_host_port(dst).ok_or_else(invalid)?;
                let port = parse_port(port.ok_or_else(invalid)?).ok_or_else(invalid)?;
                Ok(Endpoint::Tcp {
                    host: host.to_owned(),
                    port,
                    source,
                })
            }
            "ipc" if !rest.is_empty() => Ok(Endpoint::Ipc(PathBuf::from(rest))),
            "inproc" if !rest.is_empty() => Ok(Endpoint::Inproc(rest.to_owned())),
            "ipc" | "inproc" => Err(invalid()),
            other => Err(EndpointError::UnknownTransport(other.to_owned())),
        }
    }

    /// The socket address to bind a tcp endpoint to (`ipv6`: ZMQ_IPV6).
    pub(crate) fn tcp_bind_addr(
        host: &str,
        port: Option<u16>,
        ipv6: bool,
    ) -> Result<SocketAddr, EndpointError> {
        resolve_local(host, port.unwrap_or(0), ipv6, true)
    }

    /// Where a tcp endpoint connects: an address, or a name to resolve in the background.
    pub(crate) fn tcp_connect_dst(host: &str, port: Option<u16>) -> Result<TcpDst, EndpointError> {
        let port = port.ok_or_else(|| EndpointError::InvalidAddress(format!("{host}:*")))?;
        if host == "*" {
            return Err(EndpointError::InvalidAddress(format!("*:{port}")));
        }
        Ok(match host.parse::<IpAddr>() {
            Ok(ip) => TcpDst::Addr(SocketAddr::new(ip, port)),
            Err(_) => TcpDst::Name {
                host: host.to_owned(),
                port,
            },
        })
    }

    /// The local address a `tcp://SOURCE;...` connection binds to before connecting: `*`, an
    /// address or an interface name, never a DNS lookup (`connect` does not block on one).
    pub(crate) fn tcp_source_addr(
        host: &str,
        port: Option<u16>,
        ipv6: bool,
    ) -> Result<SocketAddr, EndpointError> {
        resolve_local(host, port.unwrap_or(0), ipv6, false)
    }
}

/// `HOST:PORT`, `[V6]:PORT`, `HOST` or `[V6]` -> (host, port text). `None` if malformed.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        match after {
            "" => (host, None),
            a => (host, Some(a.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            // An unbracketed IPv6 address with a port: the last colon starts the port.
            Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']'), Some(p)),
            None => (s, None),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

/// A port: a number, or `*` / `0` for an ephemeral one (`Some(None)`).
fn parse_port(p: &str) -> Option<Option<u16>> {
    match p {
        "*" | "0" => Some(None),
        p => p.parse::<u16>().ok().map(Some),
    }
}

/// A local address as libzmq finds one: `*`, a literal address, an interface name, then
/// (with `dns`) a host name, resolved here: binds resolve on the caller's thread, as in libzmq.
fn resolve_local(
    host: &str,
    port: u16,
    ipv6: bool,
    dns: bool,
) -> Result<SocketAddr, EndpointError> {
    if host == "*" {
        let ip = if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Ok(SocketAddr::new(ip, port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some(ip) = interface_addr(host, ipv6) {
        return Ok(SocketAddr::new(ip, port));
    }
    if !dns {
        return Err(EndpointError::Unresolvable(host.to_owned()));
    }
    resolve_name(host, port, ipv6).map_err(|_| EndpointError::Unresolvable(host.to_owned()))
}

/// Resolves a host name (getaddrinfo, blocking): the first IPv4 address, or with `ipv6` the
/// first address of either family (libzmq's rule).
pub(crate) fn resolve_name(host: &str, port: u16, ipv6: bool) -> std::io::Result<SocketAddr> {
    let all: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let pick = if ipv6 {
        all.first()
    } else {
        all.iter().find(|a| a.is_ipv4())
    };
    pick.copied().ok_or_else(|| {
        let family = if ipv6 { "" } else { "IPv4 " };
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no {family}address"),
        )
    })
}

/// The address of the network interface `name` (IPv4, or with `ipv6` IPv6 first), if there
/// is such an interface with an address.
#[cfg(unix)]
fn interface_addr(name: &str, ipv6: bool) -> Option<IpAddr> {
    let addrs: Vec<IpAddr> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|i| i.interface_name == name)
        .filter_map(|i| {
            let a = i.address?;
            if let Some(v4) = a.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .collect();
    // A link-local IPv6 address (fe80::/10) is usable only with its interface's scope id,
    // which an `IpAddr` does not carry: such an address is taken only if nothing else is.
    let link_local =
        |a: &&IpAddr| matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
    let v6 = addrs
        .iter()
        .filter(|a| a.is_ipv6())
        .find(|a| !link_local(a))
        .or_else(|| addrs.iter().find(|a| a.is_ipv6()));
    let v4 = addrs.iter().find(|a| a.is_ipv4());
    // Prefer IPv4 over a link-local IPv6 address even with ZMQ_IPV6.
    let v6 = v6.filter(|a| !link_local(a) || v4.is_none());
    if ipv6 { v6.or(v4) } else { v4 }.copied()
}

/// Formats a tcp address as an endpoint string (`tcp://[::1]:5555` for IPv6).
pub(crate) fn tcp_endpoint(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port, source } => {
                if let Some((h, p)) = source {
                    match p {
                        Some(p) => write!(f, "tcp://{h}:{p};")?,
                        None => write!(f, "tcp://{h};")?,
                    }
                    let port = port.map_or_else(|| "*".to_owned(), |p| p.to_string());
                    return write!(f, "{host}:{port}");
                }
                let port = port.map_or_else(|| "*".to_owned(), |p| p.to_string());
                if host.contains(':') {
                    write!(f, "tcp://[{host}]:{port}")
                } else {
                    write!(f, "tcp://{host}:{port}")
                }
            }
            Endpoint::Ipc(p) => write!(f, "ipc://{}", p.display()),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_transports() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: Some(5555),
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://*:*").unwrap(),
            Endpoint::Tcp {
                host: "*".into(),
                port: None,
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:0").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: None,
                source: None
            }
        );
        assert_eq!(
            Endpoint::parse("ipc:///tmp/x").unwrap(),
            Endpoint::Ipc("/tmp/x".into())
        );
        assert_eq!(
            Endpoint::parse("inproc://a").unwrap(),
            Endpoint::Inproc("a".into())
        );
        assert_eq!(
            Endpoint::parse("127.0.0.1:1"),
            Err(EndpointError::MissingTransport)
        );
        assert!(matches!(
            Endpoint::parse("udp://x:1"),
            Err(EndpointError::UnknownTransport(_))
        ));
        assert!(matches!(
            Endpoint::parse("tcp://x:99999"),
            Err(EndpointError::InvalidAddress(_))
        ));
        assert!(matches!(
            Endpoint::parse("tcp://nohost"),
            Err(EndpointError::InvalidAddress(_))
        ));
    }

    #[test]
    fn formats_resolved_addresses() {
        assert_eq!(tcp_endpoint("[::1]:5".parse().unwrap()), "tcp://[::1]:5");
        assert_eq!(
            tcp_endpoint("1.2.3.4:5".parse().unwrap()),
            "tcp://1.2.3.4:5"
        );
        assert!(Endpoint::tcp_connect_dst("*", Some(1)).is_err());
        assert!(Endpoint::tcp_connect_dst("127.0.0.1", None).is_err());
    }

    #[test]
    fn parses_source_addresses_and_names_to_resolve_later() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.2:5000;127.0.0.1:6000").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: Some(6000),
                source: Some(("127.0.0.2".into(), Some(5000))),
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://lo;[::1]:6000").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: Some(6000),
                source: Some(("lo".into(), None)),
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:0;localhost:1").unwrap(),
            Endpoint::Tcp {
                host: "localhost".into(),
                port: Some(1),
                source: Some(("::1".into(), None)),
            }
        );
        assert!(Endpoint::parse("tcp://;127.0.0.1:1").is_err());
        assert!(Endpoint::parse("tcp://1.2.3.4:x;127.0.0.1:1").is_err());
        // A name is not resolved when parsed or connected: the engine resolves it later.
        assert_eq!(
            Endpoint::tcp_connect_dst("no-such-host.invalid", Some(1)).unwrap(),
            TcpDst::Name {
                host: "no-such-host.invalid".into(),
                port: 1
            }
        );
    }

    #[test]
    fn star_binds_ipv4_unless_ipv6_is_on() {
        let v4 = Endpoint::tcp_bind_addr("*", Some(1), false).unwrap();
        assert_eq!(v4, "0.0.0.0:1".parse().unwrap());
        let v6 = Endpoint::tcp_bind_addr("*", Some(1), true).unwrap();
        assert_eq!(v6, "[::]:1".parse().unwrap());
    }

    #[test]
    fn the_loopback_interface_name_resolves_to_its_address() {
        let lo = Endpoint::tcp_bind_addr("lo", Some(7), false).unwrap();
        assert_eq!(lo, "127.0.0.1:7".parse().unwrap());
    }
}
