//! The system's libzmq (Debian's libzmq5, built with libsodium, so with CURVE), the
//! `libzmq+sodium` column, beside the `zmq` crate's bundled build (`libzmq`), which has no
//! CURVE. Its worker is a C program, `bench/c/libzmq_worker.c`, compiled by `build.rs` and
//! started by the orchestrator in place of `ferrozmq-bench worker` with the same arguments
//! and the same line protocol. It plays the tcp and tcp+CURVE throughput and latency roles
//! and the CURVE handshakes.

use std::process::Command;

use anyhow::{anyhow, Result};

use crate::json::Line;
use crate::worker::Job;

/// The compiled C worker, if `build.rs` could build it.
const WORKER: Option<&str> = option_env!("FERROZMQ_BENCH_LIBZMQ_WORKER");

/// Why there is no C worker, if there is none (the column is then n/a).
pub(crate) fn missing() -> Option<&'static str> {
    match WORKER {
        Some(_) => None,
        None => Some(
            option_env!("FERROZMQ_BENCH_LIBZMQ_MISSING")
                .unwrap_or("the libzmq+sodium worker was not built"),
        ),
    }
}

/// The command that runs `job` in the C worker.
pub(crate) fn command(job: &Job) -> Result<Command> {
    let path = WORKER.ok_or_else(|| anyhow!("not supported: {}", missing().unwrap_or("")))?;
    let mut command = Command::new(path);
    command.args(job.to_args());
    Ok(command)
}

/// `ferrozmq-bench worker --lib libzmq+sodium ...` by hand: becomes the C worker, which
/// prints the lines and exits with the status the orchestrator expects. Returns only if the
/// worker cannot be started.
pub(crate) fn exec(job: &Job) -> Result<Line> {
    use std::os::unix::process::CommandExt as _;
    let e = command(job)?.exec();
    Err(anyhow!("starting the libzmq+sodium worker: {e}"))
}

/// The system libzmq's version, as the C worker reports it.
pub(crate) fn version() -> Option<String> {
    let out = Command::new(WORKER?).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
