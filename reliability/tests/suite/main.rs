//! The reliability suite: ferrozmq under faults, load and hostile input, in one test binary
//! with a module per subject.
//!
//! - [`restart`]: a peer process killed (SIGKILL) and restarted: nothing duplicated, traffic
//!   resumes, REQ is never stuck, SUB receives again without re-subscribing.
//! - [`stall`]: a peer that stops answering (a frozen relay, a SIGSTOPped process) is found by
//!   heartbeats, and the link comes back.
//! - [`load`]: 5,000 tcp clients on one ROUTER; 64 threads on one DEALER; close and terminate
//!   racing busy threads.
//! - [`hostile`]: random bytes, garbage, absurd frame sizes and slowloris clients, all at once,
//!   while a good client is served.
//! - [`memory`]: a subscriber that never reads keeps the publisher within its high-water marks.
//! - [`floods`]: floods of empty messages, unread PINGs and subscriptions cost each peer a
//!   bounded amount.
//! - [`idle`]: a blocked recv, a poller wait, heartbeats: under 10 ms of CPU in a second.
//!
//! Tests that measure the process's memory ([`rss_bytes`]) must run alone: they hold
//! [`measure_memory`], every other test holds [`share_process`].

mod floods;
mod hostile;
mod idle;
mod load;
mod memory;
mod restart;
mod stall;
mod support;

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Read by every test, written by the tests that measure RSS, so those run alone.
static PROCESS: RwLock<()> = RwLock::new(());

/// Held by a test that measures the process's memory: no other test of this binary runs
/// meanwhile.
pub(crate) fn measure_memory() -> RwLockWriteGuard<'static, ()> {
    PROCESS.write().unwrap_or_else(PoisonError::into_inner)
}

/// Held by every test that does not measure memory, so it never runs beside one that does.
pub(crate) fn share_process() -> RwLockReadGuard<'static, ()> {
    PROCESS.read().unwrap_or_else(PoisonError::into_inner)
}

/// The resident set size of this process in bytes (`/proc/self/statm`, second field, in
/// pages).
pub(crate) fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm has a resident field");
    pages * rustix::param::page_size()
}
