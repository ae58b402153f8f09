//! Progress on stderr while runs train: one fixed-width line per epoch.

use onelayer::results::Metrics;
use onelayer::train::Observer;

/// Prints one line per epoch: `run  epoch  train loss/acc  val loss/acc`.
pub struct EpochLines {
    name: String,
    n_epochs: usize,
}

impl EpochLines {
    /// Lines for the run `name` of `n_epochs` epochs.
    pub fn new(name: &str, n_epochs: usize) -> EpochLines {
        EpochLines {
            name: name.to_string(),
            n_epochs,
        }
    }
}

impl Observer for EpochLines {
    fn on_epoch(&mut self, epoch: usize, train: &Metrics, val: &Metrics) {
        eprintln!(
            "{:<20} epoch {:>3}/{:<3} train loss {:8.5} acc {:6.2}%  val loss {:8.5} acc {:6.2}%",
            self.name,
            epoch,
            self.n_epochs,
            train.loss,
            100.0 * train.accuracy,
            val.loss,
            100.0 * val.accuracy
        );
    }
}
