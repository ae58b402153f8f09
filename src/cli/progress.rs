//! Progress on stderr while runs train: a bar per run when stderr is a
//! terminal, otherwise one fixed-width line per epoch (for logs and CI).

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use onelayer::config::Hyper;
use onelayer::model::Evaluation;
use onelayer::train::Observer;

/// How progress is shown.
pub enum Progress {
    /// One line per epoch.
    Lines,
    /// One bar per run, all under one display (runs train in parallel).
    Bars(MultiProgress),
}

impl Progress {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn for_stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bars(MultiProgress::new())
        } else {
            Progress::Lines
        }
    }

    /// The observer of run `h`.
    pub fn observer(&self, h: &Hyper) -> Box<dyn Observer + Send> {
        match self {
            Progress::Lines => Box::new(EpochLines::new(&h.name, h.n_epochs)),
            Progress::Bars(multi) => Box::new(RunBar::new(multi, h)),
        }
    }
}

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
    fn on_epoch(&mut self, epoch: usize, train: &Evaluation, val: &Evaluation) {
        errln!(
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

/// A bar over every mini-batch of a run; its message shows the epoch, the
/// mini-batch and the last epoch's training and validation loss.
pub struct RunBar {
    bar: ProgressBar,
    n_epochs: usize,
    losses: String,
}

impl RunBar {
    fn new(multi: &MultiProgress, h: &Hyper) -> RunBar {
        let style = ProgressStyle::with_template("{prefix:<18} {bar:16.cyan/blue} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = multi.add(ProgressBar::new(h.n_epochs as u64));
        bar.set_style(style);
        bar.set_prefix(h.name.clone());
        RunBar {
            bar,
            n_epochs: h.n_epochs,
            losses: String::new(),
        }
    }
}

impl Observer for RunBar {
    fn on_batch(&mut self, epoch: usize, batch: usize, n_batches: usize) {
        if epoch == 1 && batch == 1 {
            self.bar.set_length((self.n_epochs * n_batches) as u64);
        }
        self.bar
            .set_position(((epoch - 1) * n_batches + batch) as u64);
        self.bar.set_message(format!(
            "epoch {epoch:>2}/{} batch {batch:>3}/{n_batches}{}",
            self.n_epochs, self.losses
        ));
    }

    fn on_epoch(&mut self, epoch: usize, train: &Evaluation, val: &Evaluation) {
        self.losses = format!(" loss {:.3} train {:.3} val", train.loss, val.loss);
        if epoch == self.n_epochs {
            self.bar.finish_with_message(format!(
                "done, {epoch} epochs{}, val acc {:.2}%",
                self.losses,
                100.0 * val.accuracy
            ));
        }
    }
}

impl Drop for RunBar {
    /// A run that stops early has diverged: say so on its bar.
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.abandon_with_message(format!(
                "stopped: the cost became non-finite{}",
                self.losses
            ));
        }
    }
}
