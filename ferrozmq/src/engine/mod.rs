//! The I/O engine: reactor thread(s) on mio that own every tcp/ipc connection and listener.
