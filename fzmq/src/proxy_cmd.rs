//! `fzmq proxy`: a device between two sockets (`zmq_proxy`), each given as
//! `TYPE:MODE:ENDPOINT`, e.g. `router:bind:tcp://127.0.0.1:5559`, with an optional capture
//! socket that gets a copy of every message and an optional control socket that takes
//! PAUSE, RESUME, TERMINATE and STATISTICS (`zmq_proxy_steerable`).

use std::str::FromStr;

use anyhow::{anyhow, Result};
use clap::Args;
use ferrozmq::{Context, Socket, SocketType};

use crate::UsageError;

/// `fzmq proxy` arguments.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The frontend socket, TYPE:MODE:ENDPOINT (MODE is bind or connect), e.g.
    /// router:bind:tcp://127.0.0.1:5559.
    #[arg(long, value_name = "TYPE:MODE:EP")]
    frontend: SocketSpec,
    /// The backend socket, e.g. dealer:bind:tcp://127.0.0.1:5560.
    #[arg(long, value_name = "TYPE:MODE:EP")]
    backend: SocketSpec,
    /// A socket that receives a copy of every message passed, e.g. pub:bind:ipc:///tmp/cap.
    #[arg(long, value_name = "TYPE:MODE:EP")]
    capture: Option<SocketSpec>,
    /// A control socket (rep or pair) taking PAUSE, RESUME, TERMINATE and STATISTICS.
    #[arg(long, value_name = "TYPE:MODE:EP")]
    control: Option<SocketSpec>,
    /// ZMQ_IO_THREADS: I/O threads of the proxy's context; 2 lets the frontend and the
    /// backend use a core each.
    #[arg(long, value_name = "N", default_value_t = 1)]
    io_threads: usize,
}

/// One socket of the proxy: its type, whether it binds or connects, and where.
#[derive(Debug, Clone)]
pub(crate) struct SocketSpec {
    socket_type: SocketType,
    bind: bool,
    endpoint: String,
}

impl FromStr for SocketSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let (Some(t), Some(mode), Some(endpoint)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(
                "expected TYPE:MODE:ENDPOINT, e.g. router:bind:tcp://127.0.0.1:5559".into(),
            );
        };
        let socket_type = parse_type(t).ok_or_else(|| format!("unknown socket type {t:?}"))?;
        let bind = match mode.to_ascii_lowercase().as_str() {
            "bind" => true,
            "connect" => false,
            other => return Err(format!("MODE must be bind or connect, not {other:?}")),
        };
        if endpoint.is_empty() {
            return Err("the endpoint is missing".into());
        }
        Ok(SocketSpec {
            socket_type,
            bind,
            endpoint: endpoint.to_owned(),
        })
    }
}

fn parse_type(name: &str) -> Option<SocketType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "pair" => SocketType::Pair,
        "pub" => SocketType::Pub,
        "sub" => SocketType::Sub,
        "req" => SocketType::Req,
        "rep" => SocketType::Rep,
        "dealer" => SocketType::Dealer,
        "router" => SocketType::Router,
        "pull" => SocketType::Pull,
        "push" => SocketType::Push,
        "xpub" => SocketType::XPub,
        "xsub" => SocketType::XSub,
        _ => return None,
    })
}

impl SocketSpec {
    fn open(&self, ctx: &Context, role: &str) -> Result<Socket> {
        let socket = ctx.socket(self.socket_type);
        if self.bind {
            let resolved = socket.bind(&self.endpoint).map_err(|e| match e {
                ferrozmq::BindError::Endpoint(e) => {
                    UsageError(format!("invalid {role} endpoint {:?}: {e}", self.endpoint)).into()
                }
                e => anyhow!(e).context(format!("cannot bind the {role} to {}", self.endpoint)),
            })?;
            eprintln!("{role} listening on {resolved}");
        } else {
            socket.connect(&self.endpoint).map_err(|e| match e {
                ferrozmq::ConnectError::Endpoint(e) => {
                    UsageError(format!("invalid {role} endpoint {:?}: {e}", self.endpoint)).into()
                }
                e => anyhow!(e).context(format!("cannot connect the {role} to {}", self.endpoint)),
            })?;
        }
        Ok(socket)
    }
}

/// Runs the proxy until it is terminated through the control socket (exit 0) or fails.
pub(crate) fn run(args: ProxyArgs) -> Result<()> {
    let ctx = Context::with_io_threads(args.io_threads)?;
    let frontend = args.frontend.open(&ctx, "frontend")?;
    let backend = args.backend.open(&ctx, "backend")?;
    let capture = args
        .capture
        .as_ref()
        .map(|c| c.open(&ctx, "capture"))
        .transpose()?;
    let control = args
        .control
        .as_ref()
        .map(|c| c.open(&ctx, "control"))
        .transpose()?;
    let mut proxy = ferrozmq::Proxy::new(&frontend, &backend)
        .map_err(|e| UsageError(format!("cannot proxy between these sockets: {e}")))?;
    if let Some(c) = &capture {
        proxy = proxy.capture(c);
    }
    if let Some(c) = &control {
        proxy = proxy.control_socket(c);
    }
    proxy.run().map_err(|e| anyhow!(e).context("proxy stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_specs_parse_with_colons_in_the_endpoint() {
        let s: SocketSpec = "router:bind:tcp://127.0.0.1:5559".parse().unwrap();
        assert_eq!(s.socket_type, SocketType::Router);
        assert!(s.bind);
        assert_eq!(s.endpoint, "tcp://127.0.0.1:5559");
        let s: SocketSpec = "XSUB:connect:ipc:///tmp/x".parse().unwrap();
        assert_eq!(s.socket_type, SocketType::XSub);
        assert!(!s.bind);
        assert_eq!(s.endpoint, "ipc:///tmp/x");
    }

    #[test]
    fn bad_socket_specs_are_refused() {
        for bad in [
            "router",
            "router:bind",
            "router:listen:tcp://x:1",
            "nope:bind:tcp://x:1",
            "router:bind:",
        ] {
            assert!(bad.parse::<SocketSpec>().is_err(), "{bad}");
        }
    }
}
