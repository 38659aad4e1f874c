//! rzmq's side (the `rzmq` crate) with its default tokio back end on a multi-threaded
//! runtime; its io_uring back end is an opt-in cargo feature and is left off. Its sockets are
//! cloneable handles, so the shared-PUSH scenario runs one task per sender on clones.

use anyhow::{anyhow, Context as _, Result};
use rzmq::socket::{LAST_ENDPOINT, MAX_CONNECTIONS, SUBSCRIBE, XPUB_NODROP};
use rzmq::{Context, Msg, Socket, SocketType};

use crate::json::Line;
use crate::worker::{self, AsyncEcho, AsyncRecv, AsyncSend, Job, Role, Transport};

/// An rzmq socket as the measuring loops use it.
struct R(Socket);

impl AsyncSend for R {
    async fn send_new(&mut self, size: usize) -> Result<()> {
        self.0
            .send(Msg::from_vec(vec![0u8; size]))
            .await
            .map_err(|e| anyhow!("send: {e}"))
    }
}

impl AsyncRecv for R {
    async fn recv_len(&mut self) -> Result<usize> {
        let msg = self.0.recv().await.map_err(|e| anyhow!("recv: {e}"))?;
        Ok(msg.size())
    }
}

impl AsyncEcho for R {
    async fn echo(&mut self) -> Result<()> {
        let msg = self.0.recv().await.map_err(|e| anyhow!("recv: {e}"))?;
        self.0.send(msg).await.map_err(|e| anyhow!("send: {e}"))
    }
}

pub(crate) fn run(job: &Job) -> Result<Line> {
    if job.role == Role::ConnectMany {
        return Err(worker::unsupported(job));
    }
    let rt = worker::tokio_runtime()?;
    let ctx = rt
        .block_on(async { Context::new() })
        .map_err(|e| anyhow!("{e}"))?;
    let result = play(&rt, &ctx, job);
    // Sockets still open are closed by `term`; a late error there does not spoil the result.
    let _ = rt.block_on(ctx.term());
    result
}

fn play(rt: &tokio::runtime::Runtime, ctx: &Context, job: &Job) -> Result<Line> {
    let (size, count) = (job.size, job.count);
    match job.role {
        Role::ThrRecv => rt.block_on(async {
            let mut pull = R(bind(ctx, SocketType::Pull, job).await?);
            worker::recv_async(&mut pull, size, count).await
        }),
        Role::ThrSend => {
            let _push = rt.block_on(async {
                let push = connect(ctx, SocketType::Push, job).await?;
                let per_task = job.per_thread();
                let senders: Vec<_> = (0..job.threads)
                    .map(|_| {
                        let mut s = R(push.clone());
                        tokio::spawn(
                            async move { worker::send_async(&mut s, size, per_task).await },
                        )
                    })
                    .collect();
                for sender in senders {
                    sender.await.context("sender task")??;
                }
                anyhow::Ok(push)
            })?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::ThrOneProcess => rt.block_on(async {
            let pull = socket(ctx, SocketType::Pull)?;
            let ep = if job.transport == Transport::Inproc {
                let ep = job.bind_endpoint()?;
                pull.bind(&ep).await.map_err(|e| anyhow!("bind: {e}"))?;
                ep
            } else {
                bind_any_port(&pull, job).await?
            };
            let push = socket(ctx, SocketType::Push)?;
            push.connect(&ep)
                .await
                .map_err(|e| anyhow!("connect: {e}"))?;
            let sender =
                tokio::spawn(async move { worker::send_async(&mut R(push), size, count).await });
            let line = worker::recv_async(&mut R(pull), size, count).await?;
            sender.await.context("sender task")??;
            Ok(line)
        }),
        Role::LatEcho => rt.block_on(async {
            let mut rep = R(bind(ctx, SocketType::Rep, job).await?);
            worker::echo_async(&mut rep, count).await
        }),
        Role::LatPing => rt.block_on(async {
            let mut req = R(connect(ctx, SocketType::Req, job).await?);
            worker::ping_async(&mut req, size, count).await
        }),
        Role::Pub => {
            let _publisher = rt.block_on(async {
                let publisher = socket(ctx, SocketType::Pub)?;
                publisher
                    .set_option_raw(XPUB_NODROP, &1i32.to_ne_bytes())
                    .await
                    .map_err(|e| anyhow!("XPUB_NODROP: {e}"))?;
                let mut publisher = R(announce_bind(publisher, job).await?);
                worker::publish_async(&mut publisher, size, count).await?;
                anyhow::Ok(publisher)
            })?;
            worker::wait_for_orchestrator()?;
            Ok(Line::new().number("sent", count as f64))
        }
        Role::Sub => rt.block_on(async {
            let sub = socket(ctx, SocketType::Sub)?;
            sub.set_option_raw(SUBSCRIBE, b"")
                .await
                .map_err(|e| anyhow!("SUBSCRIBE: {e}"))?;
            let sub = connect_socket(sub, job).await?;
            worker::subscribe_async(&mut R(sub), size, count).await
        }),
        Role::RouterHold => {
            let _router = rt.block_on(async {
                let router = socket(ctx, SocketType::Router)?;
                // rzmq refuses peers past MAX_CONNECTIONS, 1,024 by default.
                let max = i32::try_from(count + 64).context("too many connections")?;
                router
                    .set_option_raw(MAX_CONNECTIONS, &max.to_ne_bytes())
                    .await
                    .map_err(|e| anyhow!("MAX_CONNECTIONS: {e}"))?;
                announce_bind(router, job).await
            })?;
            worker::hold_connections(count)
        }
        Role::ConnectMany | Role::CurveHandshakes | Role::EchoServer | Role::EchoClients => {
            Err(worker::unsupported(job))
        }
    }
}

fn socket(ctx: &Context, socket_type: SocketType) -> Result<Socket> {
    ctx.socket(socket_type).map_err(|e| anyhow!("socket: {e}"))
}

async fn bind(ctx: &Context, socket_type: SocketType, job: &Job) -> Result<Socket> {
    announce_bind(socket(ctx, socket_type)?, job).await
}

/// Binds and tells the orchestrator the resolved endpoint.
async fn announce_bind(socket: Socket, job: &Job) -> Result<Socket> {
    worker::announce(&bind_any_port(&socket, job).await?);
    Ok(socket)
}

/// Binds (tcp: to a free port) and returns the resolved endpoint.
async fn bind_any_port(socket: &Socket, job: &Job) -> Result<String> {
    socket
        .bind(&job.bind_endpoint()?)
        .await
        .map_err(|e| anyhow!("bind: {e}"))?;
    let ep = socket
        .get_option(LAST_ENDPOINT)
        .await
        .map_err(|e| anyhow!("LAST_ENDPOINT: {e}"))?;
    String::from_utf8(ep).context("LAST_ENDPOINT is not UTF-8")
}

async fn connect(ctx: &Context, socket_type: SocketType, job: &Job) -> Result<Socket> {
    connect_socket(socket(ctx, socket_type)?, job).await
}

async fn connect_socket(socket: Socket, job: &Job) -> Result<Socket> {
    socket
        .connect(job.connect_endpoint()?)
        .await
        .map_err(|e| anyhow!("connect: {e}"))?;
    Ok(socket)
}
