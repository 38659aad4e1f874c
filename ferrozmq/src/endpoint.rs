//! Endpoint strings (`tcp://HOST:PORT`, `ipc://PATH`, `inproc://NAME`): parsing and resolution.
//!
//! Bind accepts `*` for every IPv4 interface and `*` or `0` as the port for an ephemeral one;
//! the resolved endpoint (like ZMQ_LAST_ENDPOINT) is what `bind` returns.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::error::EndpointError;

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `tcp://` with the text host and port (`None` port = ephemeral, bind only).
    Tcp { host: String, port: Option<u16> },
    /// `ipc://` Unix domain socket path (`*` asks for a generated path on bind).
    Ipc(PathBuf),
    /// `inproc://` name.
    Inproc(String),
}

impl Endpoint {
    /// Parses an endpoint string.
    pub(crate) fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let (scheme, rest) = s.split_once("://").ok_or(EndpointError::MissingTransport)?;
        match scheme {
            "tcp" => {
                let (host, port) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| EndpointError::InvalidAddress(rest.to_owned()))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    return Err(EndpointError::InvalidAddress(rest.to_owned()));
                }
                let port = match port {
                    "*" | "0" => None,
                    p => Some(
                        p.parse::<u16>()
                            .map_err(|_| EndpointError::InvalidAddress(rest.to_owned()))?,
                    ),
                };
                Ok(Endpoint::Tcp {
                    host: host.to_owned(),
                    port,
                })
            }
            "ipc" if !rest.is_empty() => Ok(Endpoint::Ipc(PathBuf::from(rest))),
            "inproc" if !rest.is_empty() => Ok(Endpoint::Inproc(rest.to_owned())),
            "ipc" | "inproc" => Err(EndpointError::InvalidAddress(rest.to_owned())),
            other => Err(EndpointError::UnknownTransport(other.to_owned())),
        }
    }

    /// The socket address to bind a tcp endpoint to.
    pub(crate) fn tcp_bind_addr(
        host: &str,
        port: Option<u16>,
    ) -> Result<SocketAddr, EndpointError> {
        let port = port.unwrap_or(0);
        if host == "*" {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
        }
        resolve(host, port)
    }

    /// The socket address to connect a tcp endpoint to.
    pub(crate) fn tcp_connect_addr(
        host: &str,
        port: Option<u16>,
    ) -> Result<SocketAddr, EndpointError> {
        let port = port.ok_or_else(|| EndpointError::InvalidAddress(format!("{host}:*")))?;
        if host == "*" {
            return Err(EndpointError::InvalidAddress(format!("*:{port}")));
        }
        resolve(host, port)
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, EndpointError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|_| EndpointError::Unresolvable(host.to_owned()))?;
    let all: Vec<SocketAddr> = addrs.by_ref().collect();
    // Prefer IPv4, as libzmq does unless IPv6 is enabled.
    all.iter()
        .find(|a| a.is_ipv4())
        .or_else(|| all.first())
        .copied()
        .ok_or_else(|| EndpointError::Unresolvable(host.to_owned()))
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
            Endpoint::Tcp { host, port } => {
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
                port: Some(5555)
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://*:*").unwrap(),
            Endpoint::Tcp {
                host: "*".into(),
                port: None
            }
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:0").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: None
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
        assert!(Endpoint::tcp_connect_addr("*", Some(1)).is_err());
        assert!(Endpoint::tcp_connect_addr("127.0.0.1", None).is_err());
    }
}
