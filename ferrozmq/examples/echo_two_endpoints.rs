//! Echo server on two endpoints: one REP socket bound to two tcp ports, and one REQ client
//! connected to both. REQ sends each request to its next connection in turn (RFC 28 round
//! robin), so the requests are spread evenly over the two endpoints, and one REP answers
//! them all.
//!
//! `cargo run --example echo_two_endpoints -- [REQUESTS]` (default 10).

use std::thread;

use ferrozmq::{Context, MonitorEventKind, SocketType};

/// Runs the server and `requests` round trips. `route` maps each server endpoint to the
/// endpoint the client connects to (the identity here; the test puts a counting relay in
/// between to see the spread). Returns the endpoints bound.
pub(crate) fn run(
    requests: usize,
    route: impl Fn(&str) -> String,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep);
    let endpoints = vec![
        rep.bind("tcp://127.0.0.1:*")?,
        rep.bind("tcp://127.0.0.1:*")?,
    ];
    let server = thread::spawn(move || {
        // Echo until the context is terminated.
        while let Ok(request) = rep.recv() {
            if rep.send(request).is_err() {
                break;
            }
        }
    });

    let req = ctx.socket(SocketType::Req);
    // Wait until the monitor reports both connections up, so the spread does not depend on
    // which connect finished first (requests only go to connected peers).
    let monitor = req.monitor();
    for ep in &endpoints {
        req.connect(&route(ep))?;
    }
    let mut up = 0;
    while up < endpoints.len() {
        match monitor.recv() {
            Some(ev) if ev.kind == MonitorEventKind::HandshakeSucceeded => up += 1,
            Some(_) => {}
            None => return Err("monitor stopped".into()),
        }
    }
    for i in 0..requests {
        let request = format!("request {i}");
        req.send(request.as_str())?;
        let reply = req.recv()?;
        if reply.frames()[0][..] != *request.as_bytes() {
            return Err(format!("reply {i} is not the echo of request {i}").into());
        }
    }
    ctx.terminate();
    let _ = server.join();
    Ok(endpoints)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests = std::env::args().nth(1).map_or(Ok(10), |a| a.parse())?;
    let endpoints = run(requests, str::to_owned)?;
    println!(
        "{requests} requests echoed by one REP bound to {} and {}, spread over both",
        endpoints[0], endpoints[1]
    );
    Ok(())
}
