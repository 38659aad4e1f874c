//! [`Context`]: owns the I/O threads and the inproc endpoint registry shared by its sockets.

use crate::{Socket, SocketType};

/// A set of sockets sharing I/O threads and inproc endpoints. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Context {
    _p: (),
}

impl Context {
    /// A new context with one I/O thread.
    pub fn new() -> Context {
        todo!()
    }

    /// The process-wide default context used by [`Socket::new`].
    pub fn global() -> Context {
        todo!()
    }

    /// Creates a socket of the given type in this context.
    pub fn socket(&self, socket_type: SocketType) -> Socket {
        let _ = socket_type;
        todo!()
    }

    /// Closes every socket of this context (each honours its LINGER) and stops the I/O threads
    /// once they are done. Blocked calls on those sockets return `Closed`.
    pub fn terminate(&self) {
        todo!()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}
