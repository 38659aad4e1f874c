//! A Unix-socket service: a ROUTER on `ipc://`, clients (DEALERs) sending messages of any
//! size, from empty to several MiB, each acknowledged with its length. The service is
//! started, crashes (its process would leave the socket file behind; here the file is left
//! on purpose), and is started again on the same path: a stale socket file, with nobody
//! listening on it, does not stop the second start (as libzmq, bind replaces it), while a
//! live service on the path is never taken over (`AddrInUse`).
//!
//! `cargo run --example ipc_service -- [PATH]` (default: a file in the temp directory).

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread;

use ferrozmq::{Context, Message, SocketType};

/// Sizes each client sends: empty, small, around the frame-size boundaries, large.
pub(crate) const SIZES: &[usize] = &[0, 1, 255, 256, 65_536, 3 * 1024 * 1024 + 7];

/// Starts the service on `path`, runs `clients` clients against it (each sending every size
/// in [`SIZES`] and checking each acknowledgement), then stops it. Returns the number of
/// messages acknowledged.
pub(crate) fn serve_once(path: &Path, clients: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router);
    let endpoint = router.bind(&format!("ipc://{}", path.display()))?;
    let server = {
        let router = router.clone();
        thread::spawn(move || {
            let mut acked = 0;
            // [client id, body]: acknowledge with the body's length.
            while let Ok(mut msg) = router.recv() {
                let body = msg.split_off(1);
                msg.push_back(body.byte_len().to_string());
                if router.send(msg).is_err() {
                    break;
                }
                acked += 1;
            }
            acked
        })
    };
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (ctx, endpoint) = (ctx.clone(), endpoint.clone());
            thread::spawn(move || -> Result<(), String> {
                let dealer = ctx.socket(SocketType::Dealer);
                dealer.connect(&endpoint).map_err(|e| e.to_string())?;
                for &size in SIZES {
                    dealer
                        .send(Message::single(vec![c as u8; size]))
                        .map_err(|e| e.to_string())?;
                    let ack = dealer.recv().map_err(|e| e.to_string())?;
                    if ack.frames()[0][..] != *size.to_string().as_bytes() {
                        return Err(format!("client {c}: {size} bytes acknowledged as {ack:?}"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "client panicked")??;
    }
    router.close();
    ctx.terminate();
    Ok(server.join().map_err(|_| "server panicked")?)
}

/// What a crash leaves behind: the socket file of a listener that is gone.
pub(crate) fn leave_stale_socket_file(path: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    drop(listener); // closed without removing the file, as a killed process would
    Ok(())
}

pub(crate) fn run(path: &Path) -> Result<[usize; 2], Box<dyn std::error::Error>> {
    leave_stale_socket_file(path)?;
    let first = serve_once(path, 4)?;
    // The crash: the service is gone, its socket file stays.
    leave_stale_socket_file(path)?;
    let second = serve_once(path, 4)?;
    Ok([first, second])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join(format!("ipc-service-{}.sock", std::process::id())),
        PathBuf::from,
    );
    let [first, second] = run(&path)?;
    println!(
        "started over a stale socket file twice at {}: {first} then {second} messages acknowledged",
        path.display()
    );
    Ok(())
}
