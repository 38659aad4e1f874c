//! Transports: tcp and ipc stream sockets behind one type, and the inproc registry.
