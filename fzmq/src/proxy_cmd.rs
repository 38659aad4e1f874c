//! `fzmq proxy`: a device between two sockets (`zmq_proxy`), each given as
//! `TYPE:MODE:ENDPOINT`, e.g. `router:bind:tcp://127.0.0.1:5559`, with an optional capture
//! socket that gets a copy of every message and an optional control socket that takes
//! PAUSE, RESUME, TERMINATE and STATISTICS (`zmq_proxy_steerable`). `fzmq proxy-control`
//! sends those commands and prints STATISTICS as named numbers.
//!
//! Wirings that cannot work are refused before any socket is opened (exit 2), from the
//! capability table (`SocketType::capabilities`): REQ and REP cannot be the frontend or
//! backend (their strict send/receive alternation stalls a proxy), the two must pass messages
//! in at least one direction, the capture socket must send, and the control socket receive.

use std::str::FromStr;

use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use ferrozmq::{Context, ProxyStatistics, Socket, SocketOption, SocketType};

use crate::socket_cmd::type_name;
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
    /// A control socket (rep or pair) taking PAUSE, RESUME, TERMINATE and STATISTICS; see
    /// `fzmq proxy-control`.
    #[arg(long, value_name = "TYPE:MODE:EP")]
    control: Option<SocketSpec>,
    /// Subscribe a sub frontend to PREFIX, as text or 0x-hex (repeatable). A sub frontend
    /// given none subscribes to everything (and says so on stderr).
    #[arg(long, value_name = "PREFIX")]
    frontend_subscribe: Vec<String>,
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

/// Refuses wirings that cannot work, before anything is opened.
fn check_wiring(args: &ProxyArgs) -> Result<(), UsageError> {
    let (f, b) = (args.frontend.socket_type, args.backend.socket_type);
    for (role, t) in [("frontend", f), ("backend", b)] {
        if matches!(t, SocketType::Req | SocketType::Rep) {
            return Err(UsageError(format!(
                "a {} cannot be the proxy's {role}: it must alternate send and receive, which                  a proxy cannot do (use {} instead)",
                type_name(t),
                if t == SocketType::Req { "dealer" } else { "router" }
            )));
        }
    }
    let (fc, bc) = (f.capabilities(), b.capabilities());
    let forward = fc.can_recv && bc.can_send;
    let backward = bc.can_recv && fc.can_send;
    if !forward && !backward {
        return Err(UsageError(format!(
            "a {} frontend and a {} backend cannot pass messages either way",
            type_name(f),
            type_name(b)
        )));
    }
    if let Some(c) = &args.capture {
        if !c.socket_type.capabilities().can_send || c.socket_type == SocketType::Rep {
            return Err(UsageError(format!(
                "the capture socket sends copies: a {} cannot (use pub, push or pair)",
                type_name(c.socket_type)
            )));
        }
    }
    if let Some(c) = &args.control {
        if !matches!(c.socket_type, SocketType::Rep | SocketType::Pair) {
            return Err(UsageError(format!(
                "the control socket takes commands and answers STATISTICS: use rep or pair, \
                 not {}",
                type_name(c.socket_type)
            )));
        }
    }
    if !args.frontend_subscribe.is_empty() && f != SocketType::Sub {
        return Err(UsageError(format!(
            "--frontend-subscribe needs a sub frontend, not {}",
            type_name(f)
        )));
    }
    Ok(())
}

/// Runs the proxy until it is terminated through the control socket (exit 0) or fails.
pub(crate) fn run(args: ProxyArgs) -> Result<()> {
    check_wiring(&args)?;
    let ctx = Context::with_io_threads(args.io_threads)?;
    let frontend = args.frontend.open(&ctx, "frontend")?;
    if args.frontend.socket_type == SocketType::Sub {
        let prefixes = if args.frontend_subscribe.is_empty() {
            eprintln!("note: the sub frontend subscribes to everything (--frontend-subscribe)");
            vec![ferrozmq::Bytes::new()]
        } else {
            args.frontend_subscribe
                .iter()
                .map(|p| crate::format::parse_text_frame(p.as_bytes()))
                .collect()
        };
        for p in prefixes {
            frontend
                .set_option(SocketOption::Subscribe(p))
                .context("cannot subscribe the frontend")?;
        }
    }
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

/// `fzmq proxy-control` arguments.
#[derive(Debug, Args)]
pub(crate) struct ControlArgs {
    /// The proxy's control endpoint (its --control socket binds or connects there).
    #[arg(short, long, value_name = "EP")]
    connect: String,
    /// The control socket is a pair (default: a rep, so this side is a req).
    #[arg(long)]
    pair: bool,
    /// PAUSE, RESUME, TERMINATE or STATISTICS.
    #[arg(value_parser = ["PAUSE", "RESUME", "TERMINATE", "STATISTICS"], ignore_case = true)]
    command: String,
    /// Fail (exit 1) if the reply has not come within SECS.
    #[arg(short, long, value_name = "SECS", default_value = "5",
          value_parser = crate::socket_cmd::parse_secs)]
    timeout: Duration,
}

/// Sends one control command; prints STATISTICS as `NAME VALUE` lines.
pub(crate) fn control(args: ControlArgs) -> Result<()> {
    let command = args.command.to_ascii_uppercase();
    let ctx = Context::new();
    let socket = ctx.socket(if args.pair {
        SocketType::Pair
    } else {
        SocketType::Req
    });
    socket
        .set_option(SocketOption::Linger(Some(args.timeout)))
        .context("cannot set ZMQ_LINGER")?;
    socket.connect(&args.connect).map_err(|e| match e {
        ferrozmq::ConnectError::Endpoint(e) => {
            UsageError(format!("invalid endpoint {:?}: {e}", args.connect)).into()
        }
        e => anyhow!(e).context(format!("cannot connect to {}", args.connect)),
    })?;
    socket
        .send_timeout(command.as_str(), Some(args.timeout))
        .map_err(|e| anyhow!(e.kind()).context("cannot send the command"))?;
    // A rep answers every command; a pair only STATISTICS.
    let wants_reply = command == "STATISTICS" || !args.pair;
    if wants_reply {
        let reply = socket
            .recv_timeout(Some(args.timeout))
            .map_err(|e| anyhow!(e).context("no reply from the proxy"))?;
        if command == "STATISTICS" {
            let stats = ProxyStatistics::from_message(&reply)
                .ok_or_else(|| anyhow!("the STATISTICS reply is not 8 numbers"))?;
            print!("{}", statistics_text(&stats));
        }
    }
    socket.close();
    ctx.terminate();
    Ok(())
}

/// STATISTICS as one named number per line, frontend first.
fn statistics_text(s: &ProxyStatistics) -> String {
    let mut out = String::new();
    for (side, v) in [("frontend", &s.frontend), ("backend", &s.backend)] {
        for (name, n) in [
            ("messages_received", v.messages_received),
            ("bytes_received", v.bytes_received),
            ("messages_sent", v.messages_sent),
            ("bytes_sent", v.bytes_sent),
        ] {
            out.push_str(&format!("{side}_{name} {n}\n"));
        }
    }
    out
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
