//! Pipeline: a PUSH ventilator spreads tasks over two PULL workers (round robin), which send
//! their results to a PULL sink. Run with `cargo run --example push_pull`.

use std::thread;

use ferrozmq::{Socket, SocketType};

const TASKS: u32 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sink = Socket::new(SocketType::Pull);
    let sink_ep = sink.bind("tcp://127.0.0.1:*")?;
    let ventilator = Socket::new(SocketType::Push);
    let tasks_ep = ventilator.bind("tcp://127.0.0.1:*")?;

    for worker in 0..2 {
        let (tasks_ep, sink_ep) = (tasks_ep.clone(), sink_ep.clone());
        thread::spawn(move || -> Result<(), ferrozmq::RecvError> {
            let tasks = Socket::new(SocketType::Pull);
            tasks.connect(&tasks_ep).expect("valid endpoint");
            let results = Socket::new(SocketType::Push);
            results.connect(&sink_ep).expect("valid endpoint");
            loop {
                let task = tasks.recv()?;
                let n: u32 = std::str::from_utf8(&task.frames()[0])
                    .expect("utf-8")
                    .parse()
                    .expect("a number");
                // The result carries the worker's number, then the square.
                let result = format!("{worker} {}", n * n);
                results.send(result).expect("sink is up");
            }
        });
    }

    for n in 0..TASKS {
        ventilator.send(n.to_string())?;
    }
    let mut per_worker = [0u32; 2];
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
