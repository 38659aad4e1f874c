//! One file per implementation compared, each adapting its sockets to the measuring loops of
//! [`crate::worker`] and saying which roles it cannot play (`libzmq_sodium`: starting its C
//! worker). `zmtp` is the raw ZMTP client that opens the idle connections of the memory test,
//! the same for every library.

pub(crate) mod ferro;
pub(crate) mod libzmq;
pub(crate) mod libzmq_sodium;
pub(crate) mod raw;
pub(crate) mod rzmq_rs;
pub(crate) mod zeromq_rs;
pub(crate) mod zmtp;
