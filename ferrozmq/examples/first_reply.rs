//! First reply wins: one request goes to several replicas (REP servers), the first reply
//! is used and the later ones are discarded (`ferrozmq::recipes::Replicas`); when no
//! replica answers within the time-out, the error says so.
//!
//! Replica 0 is slow (here: held until the client has its answer, so its reply is sure to
//! come late), replica 1 answers at once, replica 2 never answers. The slow replica's late
//! reply to the first request is then discarded, not taken for the answer to the second.
//! Finally the request goes to silent replicas only, and times out.
//!
//! `cargo run --example first_reply`

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferrozmq::recipes::{FirstReplyError, Replicas};
use ferrozmq::{Context, Message, SocketType};

/// A REP replica that answers each request with `[request..., name]` once `gate` lets it
/// (each `()` received lets one reply go; a closed gate lets all go). Returns its endpoint.
fn replica(ctx: &Context, name: &'static str, gate: Option<mpsc::Receiver<()>>) -> String {
    let rep = ctx.socket(SocketType::Rep);
    let ep = rep.bind("tcp://127.0.0.1:*").expect("bind");
    thread::spawn(move || {
        while let Ok(mut request) = rep.recv() {
            if let Some(gate) = &gate {
                let _ = gate.recv();
            }
            request.push_back(name);
            if rep.send(request).is_err() {
                break;
            }
        }
    });
    ep
}

/// A replica that takes requests and never answers (a ROUTER that drops them).
fn silent_replica(ctx: &Context) -> String {
    let router = ctx.socket(SocketType::Router);
    let ep = router.bind("tcp://127.0.0.1:*").expect("bind");
    thread::spawn(move || while router.recv().is_ok() {});
    ep
}

fn text(m: &Message) -> String {
    let parts: Vec<_> = m.iter().map(|f| String::from_utf8_lossy(f)).collect();
    parts.join(" / ")
}

/// What happened: the first winner and its reply, the second reply, and the time-out error.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) first_replica: usize,
    pub(crate) first: String,
    pub(crate) second: String,
    pub(crate) timeout: FirstReplyError,
}

pub(crate) fn run() -> Result<Outcome, Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let (release_slow, gate) = mpsc::channel();
    let slow = replica(&ctx, "slow", Some(gate));
    let fast = replica(&ctx, "fast", None);
    let silent = silent_replica(&ctx);
    let mut replicas = Replicas::connect(&ctx, &[&slow, &fast, &silent])?;

    // The time-outs are generous: a replica that answers does so well within them.
    let reply = replicas.request("first question", Duration::from_secs(30))?;
    let (first_replica, first) = (reply.replica, text(&reply.message));
    // Let the slow replica answer now: its reply is late, and must be discarded.
    drop(release_slow);
    let second = text(
        &replicas
            .request("second question", Duration::from_secs(30))?
            .message,
    );

    let mut nobody = Replicas::connect(&ctx, &[&silent, &silent_replica(&ctx)])?;
    let timeout = match nobody.request("anyone?", Duration::from_millis(300)) {
        Err(e) => e,
        Ok(r) => return Err(format!("a silent replica answered: {r:?}").into()),
    };
    ctx.terminate();
    Ok(Outcome {
        first_replica,
        first,
        second,
        timeout,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let outcome = run()?;
    println!(
        "replica {} answered first: {}",
        outcome.first_replica, outcome.first
    );
    println!("the next request got its own answer: {}", outcome.second);
    println!("with only silent replicas: {}", outcome.timeout);
    Ok(())
}
