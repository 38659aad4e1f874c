//! The monitor: what happens to a socket's connections, as events. A PUSH connects before
//! anything listens (connect retried), then the PULL binds (connected, handshake succeeded),
//! then the PULL goes away (disconnected). Run with `cargo run --example monitor`.

use ferrozmq::{Context, MonitorEventKind, SocketOption, SocketType};

/// Runs the scenario; returns the names of the PUSH socket's events, in order, with
/// repeated retries shown once.
pub fn run() -> Result<Vec<String>, ferrozmq::Error> {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push);
    let events = push.monitor();

    // A free port: bound by a std listener, then released at once (nothing listens there).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(ferrozmq::ContextError::Io)?
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    push.connect(&endpoint)?;
    let mut names = Vec::new();
    let mut record = |kind: &MonitorEventKind| {
        let name = kind.name().to_owned();
        if names.last() != Some(&name) {
            names.push(name);
        }
    };
    // Wait until a first attempt was refused.
    for ev in &events {
        record(&ev.kind);
        if matches!(ev.kind, MonitorEventKind::ConnectRetried { .. }) {
            break;
        }
    }

    let pull = ctx.socket(SocketType::Pull);
    pull.set_option(SocketOption::Linger(Some(std::time::Duration::ZERO)))?;
    pull.bind(&endpoint)?;
    for ev in &events {
        record(&ev.kind);
        if ev.kind == MonitorEventKind::HandshakeSucceeded {
            break;
        }
    }
    pull.close();
    for ev in &events {
        record(&ev.kind);
        if matches!(ev.kind, MonitorEventKind::Disconnected { .. }) {
            break;
        }
    }
    Ok(names)
}

fn main() -> Result<(), ferrozmq::Error> {
    for name in run()? {
        println!("{name}");
    }
    Ok(())
}
