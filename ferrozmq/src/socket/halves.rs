//! The socket as the async ecosystem expects it: [`SocketStream`] (a
//! `futures_core::Stream` of received messages) and [`SocketSink`] (a `futures_sink::Sink`
//! of messages to send), both built on [`Socket::poll_recv`] / [`Socket::poll_send`].
//!
//! A socket is `Clone + Send + Sync`, so the halves are cheap clones of one handle: any number
//! of streams and sinks may exist for one socket, next to blocking callers.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::stream::{FusedStream, Stream};
use futures_sink::Sink;

use super::Socket;
use crate::error::{RecvError, SendError};
use crate::Message;

/// The receiving half of a socket as a [`Stream`]: each item is [`Socket::recv`]'s result.
///
/// The stream ends (`None`) once the socket is closed: a `Closed` error is not yielded. Other
/// errors (the context's I/O thread failed, a REQ with no request outstanding, a socket type
/// that cannot receive) are yielded as items; after `EngineFailed` the stream ends too.
///
/// Polling is cancellation-safe: a message is taken from the socket only by the poll that
/// returns it, so dropping a `next()` future (the losing branch of a `select!`) loses nothing.
#[derive(Debug, Clone)]
pub struct SocketStream {
    socket: Socket,
    done: bool,
}

/// The sending half of a socket as a [`Sink<Message>`]: the cancellation-safe way to send
/// from async code.
///
/// The sink buffers one message. `poll_ready` is ready once that buffer is empty (its message
/// is queued in the socket); `start_send` puts a message in the buffer and tries to queue it at
/// once; `poll_flush` waits until it is queued. A message handed to `start_send` therefore
/// belongs to the sink, not to any future: dropping a pending `poll_ready`/`poll_flush` (for
/// example `SinkExt::flush` in the losing branch of a `select!`) leaves it in the buffer, to
/// be queued by the next poll. A send that fails hands the message back in its [`SendError`].
///
/// With `SinkExt::send(msg)`, the `Send` future itself holds `msg` until `poll_ready` is
/// ready (that is how `futures` works): to keep a message through a cancelled send, reserve
/// first (`poll_ready`, e.g. `futures::future::poll_fn(|cx| sink.poll_ready_unpin(cx))` in the
/// `select!`), then `start_send` it.
///
/// Dropping a sink whose buffer still holds a message makes one last non-blocking attempt to
/// queue it; use [`SocketSink::take_pending`] first to keep it instead.
///
/// `poll_close` flushes the buffer and does not close the socket (other handles may use it);
/// call [`Socket::close`] for that.
#[derive(Debug)]
pub struct SocketSink {
    socket: Socket,
    pending: Option<Message>,
}

impl Socket {
    /// The receiving half as a [`Stream`] (a clone of this handle).
    ///
    /// ```
    /// # use ferrozmq::{Context, SocketType};
    /// use futures::StreamExt;
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull);
    /// pull.bind("inproc://stream-doc").unwrap();
    /// let push = ctx.socket(SocketType::Push);
    /// push.connect("inproc://stream-doc").unwrap();
    /// push.send("one").unwrap();
    /// let mut stream = pull.stream();
    /// let msg = futures::executor::block_on(stream.next()).unwrap().unwrap();
    /// assert_eq!(msg.frames()[0], "one");
    /// ```
    pub fn stream(&self) -> SocketStream {
        SocketStream {
            socket: self.clone(),
            done: false,
        }
    }

    /// The sending half as a [`Sink`] (a clone of this handle with a one-message buffer).
    ///
    /// ```
    /// # use ferrozmq::{Context, Message, SocketType};
    /// use futures::SinkExt;
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull);
    /// pull.bind("inproc://sink-doc").unwrap();
    /// let push = ctx.socket(SocketType::Push);
    /// push.connect("inproc://sink-doc").unwrap();
    /// let mut sink = push.sink();
    /// futures::executor::block_on(sink.send(Message::from("one"))).unwrap();
    /// assert_eq!(pull.recv().unwrap().frames()[0], "one");
    /// ```
    pub fn sink(&self) -> SocketSink {
        SocketSink {
            socket: self.clone(),
            pending: None,
        }
    }

    /// Both halves: `(sink, stream)`, for a task that sends and another that receives.
    pub fn split(&self) -> (SocketSink, SocketStream) {
        (self.sink(), self.stream())
    }
}

impl SocketStream {
    /// The socket this stream receives from.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

impl Stream for SocketStream {
    type Item = Result<Message, RecvError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.socket.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(m)) => Poll::Ready(Some(Ok(m))),
            Poll::Ready(Err(RecvError::Closed)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                if e == RecvError::EngineFailed {
                    self.done = true;
                }
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl FusedStream for SocketStream {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl SocketSink {
    /// The socket this sink sends on.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Takes the buffered message that is not queued in the socket yet, if any (e.g. to keep
    /// it when giving up on a send).
    pub fn take_pending(&mut self) -> Option<Message> {
        self.pending.take()
    }

    fn poll_drain(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), SendError>> {
        self.socket.poll_send(cx, &mut self.pending)
    }
}

impl Sink<Message> for SocketSink {
    type Error = SendError;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<(), SendError>> {
        self.poll_drain(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), SendError> {
        if let Some(earlier) = self.pending.take() {
            // A caller that skipped `poll_ready`: queue the earlier message now if possible;
            // else refuse the new one (handed back) and keep the earlier one.
            if let Err(e) = self.socket.try_send(earlier) {
                let (kind, earlier) = (e.kind(), e.into_message());
                self.pending = Some(earlier);
                return Err(SendError::new(kind, item));
            }
        }
        // Queue it at once if there is room; otherwise `poll_flush` finishes the job.
        match self.socket.try_send(item) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == crate::SendErrorKind::WouldBlock => {
                self.pending = Some(e.into_message());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<(), SendError>> {
        self.poll_drain(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Result<(), SendError>> {
        self.poll_drain(cx)
    }
}

impl Drop for SocketSink {
    fn drop(&mut self) {
        if let Some(msg) = self.pending.take() {
            if let Err(e) = self.socket.try_send(msg) {
                tracing::debug!(
                    "ferrozmq: a sink dropped with a message it could not queue: {}",
                    e.kind()
                );
            }
        }
    }
}
