//! Security mechanisms (RFC 23 §"Security Mechanisms"). STUB.
