//! The synchronisation primitives of the wake-up protocols, swapped for `loom`'s
//! model-checked ones under `--cfg loom` (as tokio's `src/loom`): the pipe's edges
//! (`socket/pipe.rs`), the reactor's sleep flag (`engine/sleep.rs`) and the poller's doorbell
//! (`poller.rs`) are then explored interleaving by interleaving. Run the models with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p ferrozmq --lib --release loom
//! ```
//!
//! Only these primitives are swapped; everything else in the crate keeps std's and
//! parking_lot's, and only the `loom` tests run under that build.

#[cfg(loom)]
pub(crate) use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use mocked::{Mutex, MutexGuard};

#[cfg(loom)]
mod mocked {
    /// `parking_lot::Mutex`'s API over loom's mutex.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(::loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = ::loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(::loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

/// Runs a loom model with the bound the tests share (three preemptions explore every
/// interleaving the protocols' bugs have needed so far, in seconds).
#[cfg(all(test, loom))]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = ::loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}
