//! Interop tests of ferrozmq against libzmq live in `tests/libzmq/`; libzmq itself is built
//! from source by the `zmq` crate, so they need nothing installed beyond a C++ compiler.
//!
//! This library only makes the README's Rust example a doctest, so it stays true.

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
#[derive(Debug)]
pub struct ReadmeDoctests;
