//! The ZMTP 3.x codec: greeting, frames, commands and metadata (RFC 23, RFC 37). STUB.
