//! Ctrl-C while the library trains: the work runs on a thread of its own with the
//! GIL released, while the calling thread waits and asks Python for pending
//! signals. On one, the training loop's observers unwind out of the work at their
//! next step and the signal's exception (`KeyboardInterrupt`) is raised.

use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use onelayer::results::Metrics;
use onelayer::train::Observer;
use pyo3::prelude::*;

/// How often the waiting thread asks Python for signals.
const POLL: Duration = Duration::from_millis(20);

/// Works stopping right now: while there are any, panics are not printed (the
/// unwinding they cause is the stop, not a bug).
static STOPPING: AtomicUsize = AtomicUsize::new(0);

/// Whether a signal asked the work to stop (shared by the work's threads).
#[derive(Debug, Default, Clone)]
pub struct Stop(Arc<AtomicBool>);

/// The unwinding payload of a stop.
struct Stopped;

impl Stop {
    /// Unwinds out of the work if a stop was asked.
    pub fn check(&self) {
        if self.0.load(Ordering::Relaxed) {
            panic::resume_unwind(Box::new(Stopped));
        }
    }
}

/// An observer that only stops the work when asked.
pub struct Watch(pub Stop);

impl Observer for Watch {
    fn on_batch(&mut self, _: usize, _: usize, _: usize) {
        self.0.check();
    }

    fn on_epoch(&mut self, _: usize, _: &Metrics, _: &Metrics) {
        self.0.check();
    }
}

/// Runs `work` without the GIL, stopping it (through the [`Watch`]es it gives its
/// training) and raising the signal's exception when Python receives one.
pub fn run<T: Send>(py: Python<'_>, work: impl FnOnce(&Stop) -> T + Send) -> PyResult<T> {
    let stop = Stop::default();
    py.detach(|| {
        std::thread::scope(|s| {
            let handle = s.spawn(|| work(&stop));
            let mut signal = None;
            while !handle.is_finished() {
                std::thread::sleep(POLL);
                if signal.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    STOPPING.fetch_add(1, Ordering::SeqCst);
                    stop.0.store(true, Ordering::Relaxed);
                    signal = Some(e);
                }
            }
            let joined = handle.join();
            if signal.is_some() {
                STOPPING.fetch_sub(1, Ordering::SeqCst);
            }
            match (joined, signal) {
                (Ok(out), _) => Ok(out),
                // The stop unwinds out of the library's threads, which may report
                // it as a panic of their own.
                (Err(_), Some(e)) => Err(e),
                (Err(payload), _) => panic::resume_unwind(payload),
            }
        })
    })
}

/// Installs, once, a panic hook that prints as the previous one did, except while
/// a stop unwinds (the library's threads then report their members' unwinding).
pub fn quiet_panics_when_stopped() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if STOPPING.load(Ordering::SeqCst) == 0 {
                previous(info);
            }
        }));
    });
}
