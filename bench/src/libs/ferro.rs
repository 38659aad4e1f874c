//! ferrozmq's side of every scenario: blocking calls, one `Context` per worker (with two I/O
//! threads when both ends of a tcp test share the process, as `fzmq bench` has). Its sockets
//! are thread-safe, so the shared-PUSH scenario clones one socket into several threads.

use std::thread;

use anyhow::{anyhow, Result};
use ferrozmq::{Bytes, Context, Message, Socket, SocketType};

use crate::json::Line;
use crate::worker::{self, Blocking, Job, Role, Transport};

/// A ferrozmq socket as the measuring loops use it.
struct Ferro(Socket);

impl Blocking for Ferro {
    fn send_new(&mut self, size: usize) -> Result<()> {
        // A new message per send, as `zmq_msg_init_size`: a small payload inside the message
        // (no allocation, as libzmq's up to 33 bytes), a larger one in an allocation of its own.
        const SMALL: usize = ferrozmq::Frame::INLINE_CAPACITY;
        let msg = match size {
            0..=SMALL => Message::from(&[0u8; SMALL][..size]),
            _ => Message::from(vec![0u8; size]),
        };
        self.0.send(msg).map_err(|e| anyhow!("send: {e}"))
    }

    fn recv_len(&mut self) -> Result<usize> {
        let msg = self.0.recv().map_err(|e| anyhow!("recv: {e}"))?;
        Ok(msg.byte_len())
    }

    fn echo(&mut self) -> Result<()> {
        let msg = self.0.recv().map_err(|e| anyhow!("recv: {e}"))?;
        self.0.send(msg).map_err(|e| anyhow!("send: {e}"))
    }
}

pub(crate) fn run(job: &Job) -> Result<Line> {
    let ctx = if job.role == Role::ThrOneProcess && job.transport != Transport::Inproc {
        Context::with_io_threads(2)?
    } else {
        Context::new()
    };
    let result = play(&ctx, job);
    ctx.terminate();
    result
}

fn play(ctx: &Context, job: &Job) -> Result<Line> {
    let (size, count) = (job.size, job.count);
    match job.role {
        Role::ThrRecv => recv_blocking_on(bind(ctx, SocketType::Pull, job)?, size, count),
        Role::ThrSend => {
            let push = connect(ctx, SocketType::Push, job)?;
            let per_thread = job.per_thread();
            let senders: Vec<_> = (0..job.threads)
                .map(|_| {
                    let mut s = Ferro(push.clone());
                    thread::spawn(move || worker::send_blocking(&mut s, size, per_thread))
                })
                .collect();
            for sender in senders {
                sender
                    .join()
                    .map_err(|_| anyhow!("sender thread panicked"))??;
            }
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::ThrOneProcess => {
            let pull = ctx.socket(SocketType::Pull);
            let ep = pull.bind(&any_port(&job.bind_endpoint()?))?;
            let push = ctx.socket(SocketType::Push);
            push.connect(&ep)?;
            let sender =
                thread::spawn(move || worker::send_blocking(&mut Ferro(push), size, count));
            let line = worker::recv_blocking(&mut Ferro(pull), size, count)?;
            sender
                .join()
                .map_err(|_| anyhow!("sender thread panicked"))??;
            Ok(line)
        }
        Role::LatEcho => worker::echo_blocking(&mut Ferro(bind(ctx, SocketType::Rep, job)?), count),
        Role::LatPing => {
            worker::ping_blocking(&mut Ferro(connect(ctx, SocketType::Req, job)?), size, count)
        }
        Role::Pub => {
            let publisher = ctx.socket(SocketType::Pub);
            set_nodrop(&publisher)?;
            bind_socket(&publisher, job)?;
            worker::publish_blocking(&mut Ferro(publisher), size, count)?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::Sub => {
            let sub = ctx.socket(SocketType::Sub);
            subscribe_all(&sub)?;
            sub.connect(job.connect_endpoint()?)?;
            worker::subscribe_blocking(&mut Ferro(sub), size, count)
        }
        Role::RouterHold => {
            let _router = bind(ctx, SocketType::Router, job)?;
            worker::hold_connections(count)
        }
        Role::ConnectMany | Role::EchoServer | Role::EchoClients => Err(worker::unsupported(job)),
        Role::CurveHandshakes => curve_handshakes(ctx, count),
    }
}

/// The benchmark's fixed CURVE keys: (server, client). Both processes derive the same.
fn curve_keys() -> (ferrozmq::CurveKeyPair, ferrozmq::CurveKeyPair) {
    let pair = |b: u8| ferrozmq::CurveKeyPair::from_secret(ferrozmq::CurveSecretKey::from([b; 32]));
    (pair(1), pair(2))
}

/// With `Transport::TcpCurve`, the binding side is the CURVE server, the other the client.
fn secure(socket: &Socket, transport: Transport, server: bool) -> Result<()> {
    use ferrozmq::SocketOption;
    if transport != Transport::TcpCurve {
        return Ok(());
    }
    let (server_keys, client_keys) = curve_keys();
    let options = if server {
        vec![
            SocketOption::CurveServer(true),
            SocketOption::CurveSecretKey(Bytes::copy_from_slice(server_keys.secret.as_bytes())),
        ]
    } else {
        vec![
            SocketOption::CurveSecretKey(Bytes::copy_from_slice(client_keys.secret.as_bytes())),
            SocketOption::CurveServerKey(Bytes::copy_from_slice(server_keys.public.as_bytes())),
        ]
    };
    for option in options {
        socket.set_option(option)?;
    }
    Ok(())
}

/// One CURVE ROUTER server; `count` clients in turn each connect, complete the handshake
/// (proved by one round trip) and close. Reports completed handshakes per second.
fn curve_handshakes(ctx: &Context, count: u64) -> Result<Line> {
    use ferrozmq::SocketOption;
    let server = ctx.socket(SocketType::Router);
    secure(&server, Transport::TcpCurve, true)?;
    let ep = server.bind("tcp://127.0.0.1:*")?;
    let connect_once = || -> Result<()> {
        let client = ctx.socket(SocketType::Dealer);
        secure(&client, Transport::TcpCurve, false)?;
        client.set_option(SocketOption::Linger(Some(std::time::Duration::ZERO)))?;
        client.connect(&ep)?;
        client.send("hi")?;
        let request = server.recv()?;
        server.send(request)?;
        client.recv()?;
        client.close();
        Ok(())
    };
    for _ in 0..worker::WARM_UP.min(count) {
        connect_once()?;
    }
    worker::work_starts();
    let start = std::time::Instant::now();
    for _ in 0..count {
        connect_once()?;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Line::new().number("handshakes_per_sec", (count as f64 / secs).round()))
}

fn recv_blocking_on(socket: Socket, size: usize, count: u64) -> Result<Line> {
    worker::recv_blocking(&mut Ferro(socket), size, count)
}

fn bind(ctx: &Context, socket_type: SocketType, job: &Job) -> Result<Socket> {
    let socket = ctx.socket(socket_type);
    secure(&socket, job.transport, true)?;
    bind_socket(&socket, job)?;
    Ok(socket)
}

/// Binds and tells the orchestrator the resolved endpoint.
fn bind_socket(socket: &Socket, job: &Job) -> Result<()> {
    let ep = socket.bind(&any_port(&job.bind_endpoint()?))?;
    worker::announce(&ep);
    Ok(())
}

/// A tcp endpoint's port 0 in ZeroMQ's syntax for "any free port".
fn any_port(endpoint: &str) -> String {
    endpoint.replace("127.0.0.1:0", "127.0.0.1:*")
}

fn connect(ctx: &Context, socket_type: SocketType, job: &Job) -> Result<Socket> {
    let socket = ctx.socket(socket_type);
    secure(&socket, job.transport, false)?;
    socket.connect(job.connect_endpoint()?)?;
    Ok(socket)
}

fn set_nodrop(publisher: &Socket) -> Result<()> {
    publisher.set_option(ferrozmq::SocketOption::XpubNodrop(true))?;
    Ok(())
}

fn subscribe_all(sub: &Socket) -> Result<()> {
    sub.set_option(ferrozmq::SocketOption::Subscribe(Bytes::new()))?;
    Ok(())
}

/// The echo scenario's server: a STREAM socket sending every client's bytes back, until the
/// orchestrator closes stdin (which closes the socket). Receives in batches; a notification
/// (`[id, empty]`) is not echoed, and a client gone before its echo is skipped.
pub(crate) fn stream_echo(job: &Job) -> Result<Line> {
    worker::ensure_open_files(job.clients as u64 + 256)?;
    let ctx = Context::new();
    let stream = ctx.socket(SocketType::Stream);
    worker::announce(&stream.bind("tcp://127.0.0.1:*")?);
    let closer = stream.clone();
    crate::echo::stop_signal(move || closer.close());
    worker::work_starts();
    let mut batch = Vec::new();
    while stream.recv_many(&mut batch, 256).is_ok() {
        for msg in batch.drain(..) {
            if msg.frames().get(1).is_some_and(|data| !data.is_empty()) {
                let _ = stream.send(msg);
            }
        }
    }
    ctx.terminate();
    Ok(Line::new())
}
