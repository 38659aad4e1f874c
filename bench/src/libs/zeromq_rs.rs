//! zeromq's side (the `zeromq` crate, zmq.rs 0.7) on a multi-threaded tokio runtime. It has
//! no inproc transport, no no-drop PUB (its PUB always drops for a slow subscriber) and
//! sockets that need `&mut` to send, so those scenarios are refused.

use anyhow::{anyhow, Context as _, Result};
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

use crate::json::Line;
use crate::worker::{self, AsyncEcho, AsyncRecv, AsyncSend, Job, Role};

/// A zeromq socket as the measuring loops use it.
struct Z<S>(S);

impl<S: SocketSend + Send> AsyncSend for Z<S> {
    async fn send_new(&mut self, size: usize) -> Result<()> {
        self.0
            .send(ZmqMessage::from(vec![0u8; size]))
            .await
            .context("send")
    }
}

impl<S: SocketRecv + Send> AsyncRecv for Z<S> {
    async fn recv_len(&mut self) -> Result<usize> {
        let msg = self.0.recv().await.context("recv")?;
        Ok(msg.iter().map(|frame| frame.len()).sum())
    }
}

impl<S: SocketRecv + SocketSend + Send> AsyncEcho for Z<S> {
    async fn echo(&mut self) -> Result<()> {
        let msg = self.0.recv().await.context("recv")?;
        self.0.send(msg).await.context("send")
    }
}

pub(crate) fn run(job: &Job) -> Result<Line> {
    match (job.role, job.transport) {
        (_, worker::Transport::Inproc) => {
            return Err(anyhow!("not supported: zeromq has no inproc transport"));
        }
        (Role::Pub | Role::Sub, _) => {
            return Err(anyhow!(
                "not supported: zeromq's PUB always drops for slow subscribers (no no-drop mode)"
            ));
        }
        (Role::ThrSend, _) if job.threads > 1 => {
            return Err(anyhow!(
                "not supported: a zeromq socket needs `&mut` to send, so threads cannot share it"
            ));
        }
        (Role::ConnectMany | Role::EchoServer | Role::EchoClients, _) => {
            return Err(worker::unsupported(job))
        }
        _ => {}
    }
    let rt = worker::tokio_runtime()?;
    let (size, count) = (job.size, job.count);
    match job.role {
        Role::ThrRecv => rt.block_on(async {
            let mut pull = Z(bind(zeromq::PullSocket::new(), job).await?);
            worker::recv_async(&mut pull, size, count).await
        }),
        Role::ThrSend => {
            let _push = rt.block_on(async {
                let mut push = Z(connect(zeromq::PushSocket::new(), job).await?);
                worker::send_async(&mut push, size, count).await?;
                anyhow::Ok(push)
            })?;
            // The runtime keeps writing what is queued until the orchestrator lets go.
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::ThrOneProcess => rt.block_on(async {
            let mut pull = zeromq::PullSocket::new();
            let ep = pull.bind(&job.bind_endpoint()?).await.context("bind")?;
            let push = connect_to(zeromq::PushSocket::new(), &ep.to_string()).await?;
            let sender = tokio::spawn(async move {
                let mut push = Z(push);
                worker::send_async(&mut push, size, count).await?;
                // Kept open until the receiver has everything: dropping it may drop its queue.
                anyhow::Ok(push)
            });
            let line = worker::recv_async(&mut Z(pull), size, count).await?;
            let _push = sender.await.context("sender task")??;
            Ok(line)
        }),
        Role::LatEcho => rt.block_on(async {
            let mut rep = Z(bind(zeromq::RepSocket::new(), job).await?);
            worker::echo_async(&mut rep, count).await
        }),
        Role::LatPing => rt.block_on(async {
            let mut req = Z(connect(zeromq::ReqSocket::new(), job).await?);
            worker::ping_async(&mut req, size, count).await
        }),
        Role::RouterHold => {
            // Accepting goes on in the runtime's threads while this one waits.
            let _router = rt.block_on(bind(zeromq::RouterSocket::new(), job))?;
            worker::hold_connections(count)
        }
        _ => Err(worker::unsupported(job)),
    }
}

/// Binds and tells the orchestrator the resolved endpoint.
async fn bind<S: Socket>(mut socket: S, job: &Job) -> Result<S> {
    let ep = socket.bind(&job.bind_endpoint()?).await.context("bind")?;
    worker::announce(&ep.to_string());
    Ok(socket)
}

async fn connect<S: Socket>(socket: S, job: &Job) -> Result<S> {
    connect_to(socket, job.connect_endpoint()?).await
}

async fn connect_to<S: Socket>(mut socket: S, endpoint: &str) -> Result<S> {
    socket.connect(endpoint).await.context("connect")?;
    Ok(socket)
}
