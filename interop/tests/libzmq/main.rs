//! Interop tests of ferrozmq against libzmq 4.3 (built from source by the `zmq` crate):
//! [`matrix`] runs every socket pair both ways over tcp and ipc, [`routing`] checks ROUTER
//! routing ids across the two, [`refusal`] checks that incompatible peers are refused, and
//! [`heartbeat`] checks PING/PONG both ways, and [`stream`] puts both STREAM sockets before
//! the same plain tcp and Unix-socket clients and connects each to the other.

mod heartbeat;
mod matrix;
mod peer;
mod proxy;
mod pubsub;
mod refusal;
mod routing;
mod stream;
