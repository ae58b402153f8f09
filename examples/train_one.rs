//! The library in ten lines: reads CIFAR-10, trains the report's best setting
//! (λ = 0.1, η = 0.001, 40 epochs of mini-batches of 100 on batch 1, validated on
//! batch 2) and evaluates it on the test batch:
//!
//! ```text
//! CIFAR10_DIR=path/to/cifar-10-batches-bin cargo run --release --example train_one [-- PATH]
//! ```
//!
//! The data is read from PATH, else `$CIFAR10_DIR`, else `./data`, else the cache
//! that `onelayer download` fills.

use std::error::Error;
use std::path::PathBuf;

use onelayer::config::RunConfig;
use onelayer::data::{self, BatchName, LabeledImages, ReadOptions};
use onelayer::normalize::Normalizer;
use onelayer::{kernels, train};

fn main() -> Result<(), Box<dyn Error>> {
    let flag = std::env::args_os().nth(1).map(PathBuf::from);
    let dir = data::locate(flag.as_deref())?;
    let which = [BatchName::Data(1), BatchName::Data(2), BatchName::Test];
    let [tr, va, te]: [LabeledImages; 3] = data::read(&dir, &which, &ReadOptions::default())?
        .batches
        .try_into()
        .map_err(|_| "expected three batches")?;
    // x/255, then the training set's mean and standard deviation per dimension.
    let norm = Normalizer::fit(&tr);
    let (tr, va, te) = (norm.apply(tr), norm.apply(va), norm.apply(te));
    // λ = 0.1, η = 0.001; 40 epochs of mini-batches of 100, seed 42.
    let run = RunConfig::report(0.1, 0.001).check("", tr.len())?;
    let trained = train::train(&run, &tr, &va, &mut train::Silent);
    let val = trained
        .history
        .val_accuracy
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    let test = kernels::evaluate(&trained.model, &te, run.lambda);
    println!(
        "{}: validation accuracy {:.2}%, test loss {:.4}, test accuracy {:.2}%",
        run.name,
        100.0 * val,
        test.loss,
        100.0 * test.accuracy
    );
    Ok(())
}
