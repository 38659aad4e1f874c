//! Graceful shutdown: a tcp service (a ROUTER with a `WorkerPool`) that, on SIGINT or
//! SIGTERM, stops taking new work, finishes and replies to every request it had taken,
//! answers requests arriving meanwhile with `unavailable`, then closes its socket with its
//! LINGER (2 s) so the last replies are flushed, and exits: nothing it accepted is lost.
//!
//! `cargo run --example graceful_shutdown`, then send requests (e.g. `fzmq req --connect
//! ENDPOINT`) and press Ctrl-C. It prints `listening on ENDPOINT`, `working on REQUEST` as
//! each job starts, `draining` on the signal, and `served N, refused M` at the end.

use std::io::Write;
use std::time::Duration;

use ferrozmq::recipes::{DrainHandle, DrainReport, WorkerPool};
use ferrozmq::{Context, Message, Socket, SocketOption, SocketType};

/// The running service.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) endpoint: String,
    ctx: Context,
    router: Socket,
    pool: WorkerPool,
}

impl Service {
    /// Binds and starts 2 workers running `work`.
    pub(crate) fn start(
        work: impl Fn(Message) -> Message + Send + Sync + 'static,
    ) -> Result<Service, Box<dyn std::error::Error>> {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router);
        router.set_option(SocketOption::Linger(Some(Duration::from_secs(2))))?;
        let endpoint = router.bind("tcp://127.0.0.1:*")?;
        let pool = WorkerPool::start(&router, 2, Message::single("unavailable"), work)?;
        Ok(Service {
            endpoint,
            ctx,
            router,
            pool,
        })
    }

    pub(crate) fn drain_handle(&self) -> DrainHandle {
        self.pool.drain_handle()
    }

    /// Waits for the drain to finish, then closes within LINGER.
    pub(crate) fn finish(self) -> Result<DrainReport, Box<dyn std::error::Error>> {
        let report = self.pool.wait()?;
        self.router.close();
        self.ctx.terminate(); // returns once the replies are written, or LINGER passed
        Ok(report)
    }
}

pub(crate) fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = Service::start(|request| {
        let text = String::from_utf8_lossy(&request.frames()[0]).into_owned();
        println!("working on {text}");
        let _ = std::io::stdout().flush();
        std::thread::sleep(Duration::from_millis(200)); // the work
        Message::single(format!("done: {text}"))
    })?;
    println!("listening on {}", service.endpoint);
    let drain = service.drain_handle();
    // The `termination` feature of ctrlc makes this handle SIGTERM too.
    ctrlc::set_handler(move || {
        println!("draining");
        let _ = std::io::stdout().flush();
        drain.drain();
    })?;
    let report = service.finish()?;
    println!("served {}, refused {}", report.served, report.refused);
    Ok(())
}
