//! Fork-join with PUSH/PULL: a ventilator spreads a batch of jobs over N workers (PUSH sends
//! to its connected workers in turn, RFC 30), the workers push their results to a sink (a
//! PULL fair-queueing them), and the sink knows the batch is complete when it has one
//! result per job (`ferrozmq::recipes::run_batch`). Here a job is a number and its result is
//! its square; the sum is checked against the formula.
//!
//! `cargo run --example fork_join -- [JOBS] [WORKERS]` (default 1000 and 4).

use std::thread;

use ferrozmq::recipes::{run_batch, work_batches};
use ferrozmq::{Context, Message, SocketType};

/// The sum of the results and how many jobs each worker did.
pub(crate) fn run(
    jobs: u64,
    workers: usize,
) -> Result<(u64, Vec<usize>), Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let ventilator = ctx.socket(SocketType::Push);
    let jobs_ep = ventilator.bind("tcp://127.0.0.1:*")?;
    let sink = ctx.socket(SocketType::Pull);
    let results_ep = sink.bind("tcp://127.0.0.1:*")?;

    // Each worker tags its results with its number, so the spread can be seen.
    let monitor = ventilator.monitor();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (input, output) = (ctx.socket(SocketType::Pull), ctx.socket(SocketType::Push));
            input.connect(&jobs_ep).expect("valid endpoint");
            output.connect(&results_ep).expect("valid endpoint");
            thread::spawn(move || {
                work_batches(&input, &output, |job| {
                    let n: u64 = std::str::from_utf8(&job.frames()[0])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    Message::from_iter([(n * n).to_string(), w.to_string()])
                })
            })
        })
        .collect();
    // Start the batch once every worker is connected: PUSH only spreads over the workers it
    // has, so an early batch would all go to the first one.
    let mut connected = 0;
    while connected < workers {
        match monitor.recv() {
            Some(ev) if ev.kind == ferrozmq::MonitorEventKind::HandshakeSucceeded => connected += 1,
            Some(_) => {}
            None => return Err("monitor stopped".into()),
        }
    }

    let batch = (1..=jobs).map(|n| Message::single(n.to_string()));
    let results = run_batch(
        &ventilator,
        &sink,
        batch,
        Some(std::time::Duration::from_secs(30)),
    )?;
    let mut per_worker = vec![0; workers];
    let mut sum = 0;
    for r in &results {
        sum += std::str::from_utf8(&r.frames()[0])?.parse::<u64>()?;
        let w: usize = std::str::from_utf8(&r.frames()[1])?.parse()?;
        per_worker[w] += 1;
    }
    ctx.terminate();
    for h in handles {
        let _ = h.join();
    }
    Ok((sum, per_worker))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jobs = args.next().map_or(Ok(1000), |a| a.parse())?;
    let workers = args.next().map_or(Ok(4), |a| a.parse())?;
    let (sum, per_worker) = run(jobs, workers)?;
    println!("batch of {jobs} complete: sum of squares {sum}; jobs per worker {per_worker:?}");
    Ok(())
}
