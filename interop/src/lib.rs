//! Interop tests against libzmq live in `tests/`.
