//! [`Output`]: the bytes a session has queued for the peer, as a queue of chunks.
//!
//! Small frames are encoded into one staging buffer, so a burst of small messages leaves as
//! one contiguous write. A large frame body (at least [`SHARE_MIN`] bytes) is not copied: its
//! header goes to the staging buffer, which is then sealed into a chunk, and the body's
//! `Bytes` is queued as a chunk of its own, for a vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Bodies at least this large are queued by reference instead of copied.
pub(crate) const SHARE_MIN: usize = 8 * 1024;

/// Queued output: sealed chunks first, then the staging buffer.
#[derive(Debug, Default)]
pub(crate) struct Output {
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    /// Total bytes queued (chunks and staging).
    queued_in_chunks: usize,
    /// Bytes consumed (written) since the session began: with [`Output::end`], positions in
    /// the output stream that stay valid as the front is consumed.
    consumed: u64,
}

impl Output {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Output {
            chunks: VecDeque::new(),
            staging: BytesMut::with_capacity(n),
            queued_in_chunks: 0,
            consumed: 0,
        }
    }

    /// The stream position just after the last queued byte.
    pub(crate) fn end(&self) -> u64 {
        self.consumed + self.len() as u64
    }

    /// True while the byte at stream position `pos - 1` is still queued (not yet written).
    pub(crate) fn holds_until(&self, pos: u64) -> bool {
        pos > self.consumed
    }

    /// Gives back buffer capacity grown for a burst, once everything was written.
    pub(crate) fn shrink_if_idle(&mut self, keep: usize) {
        if self.len() == 0 && self.staging.capacity() > keep {
            self.staging = BytesMut::with_capacity(keep);
        }
        if self.chunks.is_empty() && self.chunks.capacity() > 16 {
            self.chunks = VecDeque::new();
        }
    }

    /// The buffer small encodings are appended to.
    pub(crate) fn staging(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Queues `body` by reference after everything encoded so far.
    pub(crate) fn push_shared(&mut self, body: Bytes) {
        self.seal();
        self.queued_in_chunks += body.len();
        self.chunks.push_back(body);
    }

    fn seal(&mut self) {
        if !self.staging.is_empty() {
            let sealed = self.staging.split().freeze();
            self.queued_in_chunks += sealed.len();
            self.chunks.push_back(sealed);
        }
    }

    /// Total bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.queued_in_chunks + self.staging.len()
    }

    /// The first contiguous run of queued bytes.
    pub(crate) fn first(&self) -> &[u8] {
        self.chunks.front().map_or(&self.staging[..], |c| &c[..])
    }

    /// Fills `dst` with the queued runs in order; returns how many were filled.
    pub(crate) fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let runs = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.staging[..]))
            .filter(|r| !r.is_empty());
        let mut n = 0;
        for (slot, run) in dst.iter_mut().zip(runs) {
            *slot = IoSlice::new(run);
            n += 1;
        }
        n
    }

    /// Drops the first `n` queued bytes (those written).
    pub(crate) fn consume(&mut self, mut n: usize) {
        n = n.min(self.len());
        self.consumed += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                self.staging.advance(n.min(self.staging.len()));
                return;
            };
            let k = n.min(front.len());
            front.advance(k);
            self.queued_in_chunks -= k;
            n -= k;
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    fn gather(o: &Output) -> Vec<u8> {
        let mut slots = [IoSlice::new(&[]); 8];
        let n = o.slices(&mut slots);
        slots[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn shared_bodies_keep_their_place_in_the_stream() {
        let mut o = Output::with_capacity(16);
        o.staging().put_slice(b"ab");
        let body = Bytes::from(vec![b'x'; 3]);
        o.push_shared(body.clone());
        o.staging().put_slice(b"cd");
        assert_eq!(o.len(), 7);
        assert_eq!(gather(&o), b"abxxxcd");
        assert_eq!(o.first(), b"ab");
        o.consume(3);
        assert_eq!(gather(&o), b"xxcd");
        o.consume(4);
        assert_eq!(o.len(), 0);
        assert!(o.first().is_empty());
    }
}
