//! Event-loop echo server: one STREAM socket, bound to tcp and to a Unix socket at once,
//! echoes the bytes of every raw client (plain `TcpStream` / `UnixStream`, telnet, nc) back
//! to it. All connections run on ferrozmq's one I/O thread; the application is a loop of
//! `recv`/`send`. A new or lost connection arrives as `[id, empty]` (ZMQ_STREAM_NOTIFY).
//!
//! `cargo run --example stream_echo -- [SECONDS]`: serves for SECONDS (default 30), printing
//! its endpoints; try `nc 127.0.0.1 PORT`.

use std::thread;
use std::time::Duration;

use ferrozmq::{Context, RecvError, Socket, SocketType};

/// Binds a STREAM on tcp and ipc (`ipc_path`) and returns it with its two endpoints.
pub(crate) fn start(
    ctx: &Context,
    ipc_path: &std::path::Path,
) -> Result<(Socket, [String; 2]), Box<dyn std::error::Error>> {
    let stream = ctx.socket(SocketType::Stream);
    let tcp = stream.bind("tcp://127.0.0.1:*")?;
    let ipc = stream.bind(&format!("ipc://{}", ipc_path.display()))?;
    Ok((stream, [tcp, ipc]))
}

/// The echo loop: until the socket is closed. Returns (connections seen, bytes echoed).
pub(crate) fn serve(stream: &Socket) -> (u64, u64) {
    let (mut connections, mut bytes) = (0, 0);
    loop {
        let msg = match stream.recv() {
            Ok(m) => m,
            Err(RecvError::Closed | RecvError::EngineFailed) => return (connections, bytes),
            Err(_) => continue,
        };
        let data = msg.frames().get(1).map_or(0, |f| f.len());
        if data == 0 {
            // A connection made or lost: nothing to echo (sending it back would close it).
            connections += 1;
            continue;
        }
        bytes += data as u64;
        // The peer may have gone meanwhile (HostUnreachable): not an error of the server's.
        let _ = stream.send(msg);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = std::env::args().nth(1).map_or(Ok(30), |a| a.parse())?;
    let ctx = Context::new();
    let path = std::env::temp_dir().join(format!("stream-echo-{}.sock", std::process::id()));
    let (stream, [tcp, ipc]) = start(&ctx, &path)?;
    println!("echoing raw clients on {tcp} and {ipc} for {seconds} s");
    let closer = stream.clone();
    thread::spawn(move || {
        thread::sleep(Duration::from_secs(seconds));
        closer.close();
    });
    let (connections, bytes) = serve(&stream);
    println!("{connections} connection events, {bytes} bytes echoed");
    Ok(())
}
