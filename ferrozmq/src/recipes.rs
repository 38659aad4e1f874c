//! Small helpers for the plumbing every user of a pattern would otherwise rewrite: the first
//! reply among replicas with a time-out ([`Replicas`]), a pool of worker threads behind one
//! ROUTER that can be drained gracefully ([`WorkerPool`]), and a fork-join batch over
//! PUSH/PULL ([`run_batch`]). They compose sockets you made and configured; none hides one,
//! and each is a page of code worth reading as an example.
//!
//! Envelopes follow RFC 28: a request from REQ reaches a ROUTER as `[routing id, empty,
//! body...]`, from DEALER as `[routing id, body...]`; a reply goes back with the same
//! envelope.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::{ConnectError, RecvError, SendError, SendErrorKind};
use crate::{Context, Interest, Message, PollError, Poller, PollerWaker, Socket, SocketType};

/// Why [`Replicas::request`] got no reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FirstReplyError {
    /// No replica answered within the time-out.
    #[error("none of the {replicas} replicas replied within {waited:?}")]
    Timeout {
        /// How many replicas were asked.
        replicas: usize,
        /// The time-out.
        waited: Duration,
    },
    /// No replica could take the request (every queue full, or the sockets closed).
    #[error("no replica could take the request")]
    Send(#[source] SendError),
    /// Waiting for the replies failed (the sockets were closed).
    #[error("waiting for a reply failed")]
    Recv(#[source] RecvError),
    /// The poller failed.
    #[error("waiting for a reply failed")]
    Poll(#[source] PollError),
}

/// The first reply among replicas: one DEALER per replica (REP or ROUTER servers), each
/// request sent to all of them; the first reply is returned, later ones are discarded.
///
/// Each request carries a request number in its envelope (`[number, empty, body...]`, which a
/// REP hands back unchanged), so a late reply to an earlier request is recognised and dropped
/// rather than taken for the answer to the current one.
#[derive(Debug)]
pub struct Replicas {
    dealers: Vec<Socket>,
    next: u64,
}

/// The reply [`Replicas::request`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub struct FirstReply {
    /// The index (in the endpoints given) of the replica that answered first.
    pub replica: usize,
    /// Its reply body.
    pub message: Message,
}

impl Replicas {
    /// Connects one DEALER to each endpoint (connections are made in the background). The
    /// DEALERs have LINGER 0: a request a dead replica never took is not worth keeping.
    pub fn connect(ctx: &Context, endpoints: &[&str]) -> Result<Replicas, ConnectError> {
        let mut dealers = Vec::with_capacity(endpoints.len());
        for ep in endpoints {
            let d = ctx.socket(SocketType::Dealer);
            let _ = d.set_option(crate::SocketOption::Linger(Some(Duration::ZERO)));
            d.connect(ep)?;
            dealers.push(d);
        }
        Ok(Replicas { dealers, next: 1 })
    }

    /// Sends `request` to every replica and returns the first reply to it, or
    /// [`FirstReplyError::Timeout`] once `timeout` passed without one.
    pub fn request(
        &mut self,
        request: impl Into<Message>,
        timeout: Duration,
    ) -> Result<FirstReply, FirstReplyError> {
        let deadline = Instant::now() + timeout;
        let number = Bytes::copy_from_slice(&self.next.to_be_bytes());
        self.next += 1;
        let mut envelope = request.into();
        envelope.push_front(Bytes::new());
        envelope.push_front(number.clone());
        let mut taken = 0;
        let mut last_error = None;
        for d in &self.dealers {
            match d.try_send(envelope.clone()) {
                Ok(()) => taken += 1,
                Err(e) => last_error = Some(e),
            }
        }
        if taken == 0 {
            if let Some(e) = last_error {
                return Err(FirstReplyError::Send(e));
            }
        }
        let mut poller = Poller::new().map_err(FirstReplyError::Poll)?;
        let keys: Vec<_> = self
            .dealers
            .iter()
            .map(|d| poller.add(d, Interest::READABLE))
            .collect();
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FirstReplyError::Timeout {
                    replicas: self.dealers.len(),
                    waited: timeout,
                });
            }
            poller
                .wait(&mut events, Some(left))
                .map_err(FirstReplyError::Poll)?;
            for ev in &events {
                let Some(replica) = keys.iter().position(|k| *k == ev.key()) else {
                    continue;
                };
                let Some(d) = self.dealers.get(replica) else {
                    continue;
                };
                loop {
                    let mut reply = match d.try_recv() {
                        Ok(m) => m,
                        Err(RecvError::WouldBlock) => break,
                        Err(e) => return Err(FirstReplyError::Recv(e)),
                    };
                    // `[number, empty, body...]`; anything else is a late or stray reply.
                    let is_ours = reply.first().is_some_and(|f| f[..] == number[..])
                        && reply.frames().get(1).is_some_and(|f| f.is_empty());
                    if is_ours {
                        let message = reply.split_off(2);
                        return Ok(FirstReply { replica, message });
                    }
                }
            }
        }
    }
}

/// A pool of worker threads behind one ROUTER: a receiving thread waits for requests (in a
/// poller, no busy polling) and hands each to the next free worker, which replies on the same
/// socket (ferrozmq sockets are thread-safe) as soon as its work is done, whatever the order.
///
/// [`WorkerPool::drain`] (or a [`DrainHandle`], e.g. from a signal handler) stops taking new
/// work: requests that arrive from then on are answered at once with the `refusal` message,
/// the requests already taken are all finished and replied to, and then the pool stops.
/// Close the socket afterwards with its LINGER so the last replies are flushed.
#[derive(Debug)]
pub struct WorkerPool {
    receiver: JoinHandle<Result<DrainReport, RecvError>>,
    workers: Vec<JoinHandle<()>>,
    drain: DrainHandle,
}

/// Starts a [`WorkerPool`]'s drain from anywhere (a signal handler's thread, another
/// thread); cheap to clone.
#[derive(Debug, Clone)]
pub struct DrainHandle {
    draining: Arc<AtomicBool>,
    waker: PollerWaker,
}

impl DrainHandle {
    /// Stops taking new work; returns at once (the pool finishes in the background).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// What a [`WorkerPool`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Requests taken and replied to.
    pub served: u64,
    /// Requests that arrived while draining, answered with the refusal.
    pub refused: u64,
}

/// One request handed to a worker: its envelope and body.
type Job = (Message, Message);

impl WorkerPool {
    /// Starts `workers` threads running `handler` on the requests arriving at `router` (a
    /// ROUTER socket); `refusal` is the reply to requests arriving while draining. Fails
    /// only if the OS refuses the receiving thread's poller.
    pub fn start<F>(
        router: &Socket,
        workers: usize,
        refusal: Message,
        handler: F,
    ) -> Result<WorkerPool, PollError>
    where
        F: Fn(Message) -> Message + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicU64::new(0));
        let mut poller = Poller::new()?;
        poller.add(router, Interest::READABLE);
        let drain = DrainHandle {
            draining: Arc::new(AtomicBool::new(false)),
            waker: poller.waker(),
        };
        let workers = (0..workers.max(1))
            .map(|_| {
                let (rx, router, handler) = (jobs_rx.clone(), router.clone(), handler.clone());
                let (in_flight, served, drain) = (in_flight.clone(), served.clone(), drain.clone());
                thread::spawn(move || loop {
                    let job = rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((mut envelope, body))) = job else {
                        return;
                    };
                    envelope.extend(handler(body));
                    // A client gone meanwhile is no error of the pool's.
                    let _ = router.send(envelope);
                    served.fetch_add(1, Ordering::Relaxed);
                    if in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                        // The receiver may be waiting for the last job of a drain.
                        drain.waker.wake();
                    }
                })
            })
            .collect();
        let (router, flag) = (router.clone(), drain.draining.clone());
        let receiver = thread::spawn(move || {
            let mut refused = 0;
            let mut events = Vec::new();
            loop {
                let draining = flag.load(Ordering::Acquire);
                if draining && in_flight.load(Ordering::Acquire) == 0 {
                    drop(jobs_tx);
                    return Ok(DrainReport {
                        served: served.load(Ordering::Relaxed),
                        refused,
                    });
                }
                match router.try_recv() {
                    Ok(mut msg) => {
                        let body = msg.split_off(envelope_len(&msg));
                        if draining {
                            let mut reply = msg;
                            reply.extend(refusal.clone());
                            let _ = router.send(reply);
                            refused += 1;
                        } else {
                            in_flight.fetch_add(1, Ordering::AcqRel);
                            let _ = jobs_tx.send((msg, body));
                        }
                    }
                    Err(RecvError::WouldBlock) => {
                        // Woken by a request, a drain, or the last job of a drain.
                        if let Err(e) = poller.wait(&mut events, None) {
                            tracing::debug!("worker pool poller failed: {e}");
                            return Err(RecvError::Closed);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        });
        Ok(WorkerPool {
            receiver,
            workers,
            drain,
        })
    }

    /// A handle that starts the drain (for a signal handler, say).
    pub fn drain_handle(&self) -> DrainHandle {
        self.drain.clone()
    }

    /// Starts the drain and waits for it to finish: every request taken is replied to.
    pub fn drain(self) -> Result<DrainReport, RecvError> {
        self.drain.drain();
        self.wait()
    }

    /// Waits until the pool stops: drained (see [`DrainHandle`]), or its socket closed.
    pub fn wait(self) -> Result<DrainReport, RecvError> {
        let report = self.receiver.join().unwrap_or(Err(RecvError::Closed));
        for w in self.workers {
            let _ = w.join();
        }
        report
    }
}

/// How many leading frames of a ROUTER message are its envelope: the routing id, and an
/// empty delimiter after it if there is one (REQ peers, RFC 28).
fn envelope_len(msg: &Message) -> usize {
    match msg.frames().get(1) {
        Some(f) if f.is_empty() => 2,
        _ => 1.min(msg.len()),
    }
}

/// Why a [`run_batch`] did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A job could not be sent (the PUSH socket closed, or `timeout` passed with no worker
    /// taking it).
    #[error("job {index} could not be sent")]
    Send {
        /// Which job.
        index: usize,
        /// Why.
        #[source]
        error: SendError,
    },
    /// Not every result arrived in time.
    #[error("{received} of {expected} results arrived")]
    Incomplete {
        /// Results that arrived (in [`BatchError::Incomplete`], they are lost to the caller).
        received: usize,
        /// Jobs sent.
        expected: usize,
        /// Why receiving stopped (`Timeout`, `Closed`).
        #[source]
        error: RecvError,
    },
}

/// Fork-join: sends every job on `ventilator` (a PUSH, which spreads them over the workers
/// connected to it in turn, RFC 30) and gathers one result per job from `sink` (a PULL the
/// workers push their results to). The sink knows the batch is complete when it has as many
/// results as jobs were sent. Results come in arrival order; `timeout` bounds each wait (for a
/// worker to take a job, for the next result).
///
/// Every job must yield exactly one result, and the sink must carry nothing else while the
/// batch runs.
pub fn run_batch(
    ventilator: &Socket,
    sink: &Socket,
    jobs: impl IntoIterator<Item = Message>,
    timeout: Option<Duration>,
) -> Result<Vec<Message>, BatchError> {
    let mut expected = 0;
    for (index, job) in jobs.into_iter().enumerate() {
        ventilator
            .send_timeout(job, timeout)
            .map_err(|error| BatchError::Send { index, error })?;
        expected += 1;
    }
    let mut results = VecDeque::with_capacity(expected);
    while results.len() < expected {
        match sink.recv_timeout(timeout) {
            Ok(m) => results.push_back(m),
            Err(error) => {
                return Err(BatchError::Incomplete {
                    received: results.len(),
                    expected,
                    error,
                })
            }
        }
    }
    Ok(results.into())
}

/// A fork-join worker: takes jobs from `jobs` (a PULL connected to the ventilator), pushes
/// `work(job)` to `results` (a PUSH connected to the sink), until either socket is closed.
pub fn work_batches<F>(jobs: &Socket, results: &Socket, work: F) -> Result<(), SendErrorKind>
where
    F: Fn(Message) -> Message,
{
    loop {
        let job = match jobs.recv() {
            Ok(job) => job,
            Err(_) => return Ok(()),
        };
        if let Err(e) = results.send(work(job)) {
            return match e.kind() {
                SendErrorKind::Closed => Ok(()),
                k => Err(k),
            };
        }
    }
}
