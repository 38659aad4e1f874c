//! Host names of tcp connects, resolved off the reactor thread: getaddrinfo blocks (for
//! seconds when a DNS server does not answer), so each resolution runs on a short-lived
//! thread that posts the answer back to the reactor as [`Command::Resolved`].
//!
//! The reactor asks again before every connection attempt (containers change addresses), so
//! a name that does not resolve yet is retried with the connect's RECONNECT_IVL back-off, and
//! each failure is reported to monitors as `ResolveFailed`.

use std::sync::Arc;

use super::{Command, Shared};

/// Tests only: how long every resolution waits first, standing in for a DNS server that does
/// not answer; and how many resolutions have finished.
#[cfg(test)]
pub(super) static TEST_DELAY_MS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);
#[cfg(test)]
pub(super) static TEST_FINISHED: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// Resolves `host:port` in the background and posts the result for connect `key`.
/// `ipv6`: ZMQ_IPV6 (IPv6 addresses may be picked).
pub(super) fn spawn(shared: &Arc<Shared>, key: (u64, u64), host: &str, port: u16, ipv6: bool) {
    let (socket_id, connect_id) = key;
    let host_owned = host.to_owned();
    let shared_thread = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("ferrozmq-resolve".into())
        .spawn(move || {
            #[cfg(test)]
            std::thread::sleep(std::time::Duration::from_millis(
                TEST_DELAY_MS.load(std::sync::atomic::Ordering::Relaxed),
            ));
            let result =
                crate::endpoint::resolve_name(&host_owned, port, ipv6).map_err(|e| e.to_string());
            #[cfg(test)]
            TEST_FINISHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            shared_thread.post(Command::Resolved {
                socket_id,
                connect_id,
                result,
            });
        });
    if let Err(e) = spawned {
        // No thread to spare: a failed attempt, retried with back-off like any other.
        shared.post(Command::Resolved {
            socket_id,
            connect_id,
            result: Err(format!("cannot start a resolver thread: {e}")),
        });
    }
}
