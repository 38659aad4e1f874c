//! Interop tests of ferrozmq against libzmq 4.3 (built from source by the `zmq` crate):
//! [`matrix`] runs every socket pair both ways over tcp and ipc, [`routing`] checks ROUTER
//! routing ids across the two, [`refusal`] checks that incompatible peers are refused, and
//! [`heartbeat`] checks PING/PONG both ways.

mod heartbeat;
mod matrix;
mod peer;
mod proxy;
mod pubsub;
mod refusal;
mod routing;
