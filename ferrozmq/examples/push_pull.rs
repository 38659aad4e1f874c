//! Pipeline: a PUSH ventilator spreads tasks round robin over two PULL workers, which push
//! their results to a PULL sink. Run with `cargo run --example push_pull`.
//!
//! The workers bind and the ventilator connects to each: a connect queues for its peer at
//! once, so both workers get their share even if one is slower to come up (had the workers
//! connected, the first one up could take every task before the second arrived).

use std::sync::mpsc;
use std::thread;

use ferrozmq::{Socket, SocketType};

const TASKS: u32 = 100;
const WORKERS: usize = 2;

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sink = Socket::new(SocketType::Pull);
    let sink_ep = sink.bind("tcp://127.0.0.1:*")?;

    let (worker_eps, endpoints) = mpsc::channel();
    for worker in 0..WORKERS {
        let (sink_ep, worker_eps) = (sink_ep.clone(), worker_eps.clone());
        thread::spawn(move || {
            let tasks = Socket::new(SocketType::Pull);
            let ep = tasks.bind("tcp://127.0.0.1:*").expect("bind");
            worker_eps.send(ep).expect("main is waiting");
            let results = Socket::new(SocketType::Push);
            results.connect(&sink_ep).expect("valid endpoint");
            while let Ok(task) = tasks.recv() {
                let n: u64 = String::from_utf8_lossy(&task.frames()[0])
                    .parse()
                    .expect("n");
                results.send(format!("{worker} {}", n * n)).expect("send");
            }
        });
    }

    let ventilator = Socket::new(SocketType::Push);
    for ep in endpoints.iter().take(WORKERS) {
        ventilator.connect(&ep)?;
    }
    for n in 0..TASKS {
        ventilator.send(n.to_string())?;
    }

    let mut per_worker = [0u32; WORKERS];
    let mut sum = 0u64;
    for _ in 0..TASKS {
        let msg = sink.recv()?;
        let text = String::from_utf8_lossy(&msg.frames()[0]).into_owned();
        let (worker, square) = text.split_once(' ').expect("worker and square");
        per_worker[worker.parse::<usize>()?] += 1;
        sum += square.parse::<u64>()?;
    }
    println!("sum of squares below {TASKS}: {sum}; tasks per worker: {per_worker:?}");
    Ok(())
}
