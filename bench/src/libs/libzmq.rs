//! libzmq's side of every scenario, through the `zmq` crate (libzmq 4.3, built from source).
//! A libzmq socket must not be used by two threads, so the shared-PUSH scenario is refused.
//! Receivers reuse one `zmq::Message` and senders build a new one per send, as libzmq's own
//! `local_thr` and `remote_thr` do.

use std::thread;

use anyhow::{anyhow, Context as _, Result};

use crate::json::Line;
use crate::worker::{self, Blocking, Job, Role, Transport};

/// A libzmq socket as the measuring loops use it.
struct Zmq {
    socket: zmq::Socket,
    msg: zmq::Message,
}

impl Zmq {
    fn new(socket: zmq::Socket) -> Zmq {
        Zmq {
            socket,
            msg: zmq::Message::new(),
        }
    }
}

impl Blocking for Zmq {
    fn send_new(&mut self, size: usize) -> Result<()> {
        self.socket
            .send(zmq::Message::with_size(size), 0)
            .context("send")
    }

    fn recv_len(&mut self) -> Result<usize> {
        self.socket.recv(&mut self.msg, 0).context("recv")?;
        Ok(self.msg.len())
    }

    fn echo(&mut self) -> Result<()> {
        self.socket.recv(&mut self.msg, 0).context("recv")?;
        let msg = std::mem::replace(&mut self.msg, zmq::Message::new());
        self.socket.send(msg, 0).context("send")
    }
}

pub(crate) fn run(job: &Job) -> Result<Line> {
    let ctx = zmq::Context::new();
    if job.role == Role::ThrOneProcess && job.transport != Transport::Inproc {
        // Both ends in this process: one I/O thread each, as ferrozmq gets.
        ctx.set_io_threads(2)?;
    }
    let (size, count) = (job.size, job.count);
    match job.role {
        Role::ThrRecv => worker::recv_blocking(&mut bind(&ctx, zmq::PULL, job)?, size, count),
        Role::ThrSend if job.threads > 1 => Err(anyhow!(
            "not supported: a libzmq socket cannot be shared between threads"
        )),
        Role::ThrSend => {
            worker::send_blocking(&mut connect(&ctx, zmq::PUSH, job)?, size, count)?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::ThrOneProcess => {
            let pull = ctx.socket(zmq::PULL)?;
            let ep = bind_any_port(&pull, job)?;
            let push = ctx.socket(zmq::PUSH)?;
            push.connect(&ep)?;
            let sender =
                thread::spawn(move || worker::send_blocking(&mut Zmq::new(push), size, count));
            let line = worker::recv_blocking(&mut Zmq::new(pull), size, count)?;
            sender
                .join()
                .map_err(|_| anyhow!("sender thread panicked"))??;
            Ok(line)
        }
        Role::LatEcho => worker::echo_blocking(&mut bind(&ctx, zmq::REP, job)?, count),
        Role::LatPing => worker::ping_blocking(&mut connect(&ctx, zmq::REQ, job)?, size, count),
        Role::Pub => {
            let mut publisher = ctx.socket(zmq::PUB)?;
            set_xpub_nodrop(&mut publisher)?;
            let mut publisher = announce_bind(publisher, job)?;
            worker::publish_blocking(&mut publisher, size, count)?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::Sub => {
            let mut sub = connect(&ctx, zmq::SUB, job)?;
            sub.socket.set_subscribe(b"")?;
            worker::subscribe_blocking(&mut sub, size, count)
        }
        Role::RouterHold => {
            let _router = bind(&ctx, zmq::ROUTER, job)?;
            worker::hold_connections(count)
        }
        Role::ConnectMany | Role::CurveHandshakes | Role::EchoServer | Role::EchoClients => {
            Err(worker::unsupported(job))
        }
    }
}

fn bind(ctx: &zmq::Context, socket_type: zmq::SocketType, job: &Job) -> Result<Zmq> {
    announce_bind(ctx.socket(socket_type)?, job)
}

/// Binds and tells the orchestrator the resolved endpoint.
fn announce_bind(socket: zmq::Socket, job: &Job) -> Result<Zmq> {
    worker::announce(&bind_any_port(&socket, job)?);
    Ok(Zmq::new(socket))
}

/// Binds (tcp: to a free port) and returns the resolved endpoint.
fn bind_any_port(socket: &zmq::Socket, job: &Job) -> Result<String> {
    socket.bind(&job.bind_endpoint()?.replace("127.0.0.1:0", "127.0.0.1:*"))?;
    socket
        .get_last_endpoint()?
        .map_err(|_| anyhow!("last endpoint is not UTF-8"))
}

fn connect(ctx: &zmq::Context, socket_type: zmq::SocketType, job: &Job) -> Result<Zmq> {
    let socket = ctx.socket(socket_type)?;
    socket.connect(job.connect_endpoint()?)?;
    Ok(Zmq::new(socket))
}

/// ZMQ_XPUB_NODROP on a PUB: a send waits for room instead of dropping for a slow subscriber.
/// The `zmq` crate has no setter for it, so this calls libzmq through `zmq-sys`.
#[allow(unsafe_code)]
fn set_xpub_nodrop(socket: &mut zmq::Socket) -> Result<()> {
    let on: std::os::raw::c_int = 1;
    let handle = socket.as_mut_ptr();
    // SAFETY: `handle` is the live libzmq socket owned by `socket`, borrowed for this call;
    // `on` is an int that outlives the call and its size is passed with it, as
    // zmq_setsockopt(3) requires for ZMQ_XPUB_NODROP.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            handle,
            zmq_sys::ZMQ_XPUB_NODROP as std::os::raw::c_int,
            (&raw const on).cast(),
            std::mem::size_of_val(&on),
        )
    };
    if rc != 0 {
        return Err(anyhow!(
            "zmq_setsockopt(ZMQ_XPUB_NODROP): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The echo scenario's server: libzmq's STREAM socket sending every client's bytes back
/// until the orchestrator closes stdin (checked every 100 ms: a libzmq socket cannot be
/// closed from another thread). A notification (`[id, empty]`) is not echoed.
pub(crate) fn stream_echo(job: &Job) -> Result<Line> {
    worker::ensure_open_files(job.clients as u64 + 256)?;
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::STREAM)?;
    socket.set_rcvtimeo(100)?;
    worker::announce(&bind_any_port(&socket, job)?);
    let stop = crate::echo::stop_signal(|| {});
    worker::work_starts();
    let (mut id, mut data) = (zmq::Message::new(), zmq::Message::new());
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        match socket.recv(&mut id, 0) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) => continue,
            Err(e) => return Err(e.into()),
        }
        socket.recv(&mut data, 0).context("recv data")?;
        if data.is_empty() {
            continue;
        }
        // A client gone meanwhile refuses its id (EHOSTUNREACH): skip its data then.
        if socket.send(&id[..], zmq::SNDMORE).is_ok() {
            let echo = std::mem::replace(&mut data, zmq::Message::new());
            socket.send(echo, 0).context("send data")?;
        }
    }
    Ok(Line::new())
}
