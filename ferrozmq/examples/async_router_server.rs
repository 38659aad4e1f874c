//! Asynchronous ROUTER server: one ROUTER, a pool of worker threads
//! (`ferrozmq::recipes::WorkerPool`). A receiving thread waits for requests in a poller (no
//! busy polling) and hands each to a free worker; the worker replies on the same socket
//! (ferrozmq sockets are thread-safe) as soon as its work is done, so replies leave in
//! whatever order the work finishes. Many DEALER clients keep several requests in flight
//! each, and check every reply is their own.
//!
//! `cargo run --example async_router_server -- [CLIENTS] [REQUESTS]` (default 50 and 200).

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use ferrozmq::recipes::WorkerPool;
use ferrozmq::{Context, Message, SocketOption, SocketType};

const WORKERS: usize = 4;
/// Requests each client keeps in flight.
const WINDOW: usize = 8;

/// Runs the server and the clients; returns how many replies the clients checked.
pub(crate) fn run(clients: usize, requests: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let endpoint = router.bind("tcp://127.0.0.1:*")?;
    // The "work": a little CPU, varying by request, so replies finish out of order.
    let pool = WorkerPool::start(&router, WORKERS, Message::single("unavailable"), |req| {
        let n = req.frames().first().map_or(0, |f| f.len() as u64);
        thread::sleep(Duration::from_micros(n % 7 * 50));
        req // the reply is the request: the client can tell it is its own
    })?;

    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (ctx, endpoint) = (ctx.clone(), endpoint.clone());
            thread::spawn(move || -> Result<usize, String> {
                let dealer = ctx.socket(SocketType::Dealer);
                let id = format!("client-{c}");
                dealer
                    .set_option(SocketOption::RoutingId(id.clone().into()))
                    .map_err(|e| e.to_string())?;
                dealer.connect(&endpoint).map_err(|e| e.to_string())?;
                let mut outstanding = HashSet::new();
                let (mut sent, mut checked) = (0, 0);
                while checked < requests {
                    while sent < requests && outstanding.len() < WINDOW {
                        let body = format!("{id}/{sent}{}", "x".repeat(sent % 13));
                        dealer.send(body.as_str()).map_err(|e| e.to_string())?;
                        outstanding.insert(body);
                        sent += 1;
                    }
                    let reply = dealer.recv().map_err(|e| e.to_string())?;
                    let body = String::from_utf8_lossy(&reply.frames()[0]).into_owned();
                    if !outstanding.remove(&body) {
                        return Err(format!("{id} got a reply that is not its own: {body}"));
                    }
                    checked += 1;
                }
                Ok(checked)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| "client panicked")??;
    }
    let report = pool.drain()?;
    ctx.terminate();
    if report.served != total as u64 {
        return Err(format!("served {} but {total} replies checked", report.served).into());
    }
    Ok(total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let clients = args.next().map_or(Ok(50), |a| a.parse())?;
    let requests = args.next().map_or(Ok(200), |a| a.parse())?;
    let total = run(clients, requests)?;
    println!("{clients} clients, {total} replies, each to the client that asked");
    Ok(())
}
