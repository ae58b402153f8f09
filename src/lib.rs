//! onelayer: a one-layer network (a linear softmax classifier) trained on CIFAR-10
//! with cross-entropy plus an L2 penalty, by mini-batch gradient descent.
//!
//! The maths follows the report: for images `X: d×n` (one column per image),
//! weights `W: K×d` and bias `b: K×1`,
//!
//! ```text
//! S = W X + b 1ᵀ                      scores          K×n
//! P = softmax(S)                      probabilities   K×n   (column-wise)
//! L = −(1/n) Σᵢ log(yᵢᵀ pᵢ)           mean cross-entropy
//! J = L + λ ‖W‖²                      cost
//! G = −(Y − P)                                        K×n
//! ∂J/∂W = (1/n) G Xᵀ + 2λW                            K×d
//! ∂J/∂b = (1/n) G 1                                   K×1
//! ```
//!
//! Read the data, train one run of the report, evaluate it on the test batch
//! (`cargo run --release --example train_one`):
//!
//! ```no_run
//! use onelayer::config::RunConfig;
//! use onelayer::data::{self, BatchName, LabeledImages, ReadOptions};
//! use onelayer::{kernels, normalize::Normalizer, train};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = data::locate(None)?; // $CIFAR10_DIR, else ./data, else the cache
//! let which = [BatchName::Data(1), BatchName::Data(2), BatchName::Test];
//! let [tr, va, te]: [LabeledImages; 3] = data::read(&dir, &which, &ReadOptions::default())?
//!     .batches.try_into().map_err(|_| "three batches")?;
//! let norm = Normalizer::fit(&tr); // x/255, then the training set's mean and std per dimension
//! let (tr, va, te) = (norm.apply(tr), norm.apply(va), norm.apply(te));
//! let run = RunConfig::report(0.1, 0.001).check("", tr.len())?; // λ, η; 40 epochs of 100
//! let trained = train::train(&run, &tr, &va, &mut train::Silent);
//! let test = kernels::evaluate(&trained.model, &te, run.lambda); // loss, cost, accuracy
//! println!("test accuracy {:.2}%", 100.0 * test.accuracy);
//! # Ok(())
//! # }
//! ```
//!
//! Modules, one per concept: [`data`] reads CIFAR-10 and prepares it once (read,
//! verify, split, fingerprint, normalise with [`data::normalize`]: [`data::prepare`]),
//! [`model`] holds the network and its forward/backward maths, [`kernels`] the hot
//! loops, [`gradcheck`] checks the gradients, [`train`] is the one training loop
//! (and its worker pool, [`train::pool`]), [`config`] the validated settings,
//! [`experiments`] the report's four runs, [`results`] what a run produces and
//! writes ([`results::stage`]), [`observations`] the facts the report states about
//! them, [`plot`] the figures, [`report`] the HTML and Markdown report, and [`io`]
//! atomic file output.
//! Beyond the report: [`modelfile`] saves and loads a trained model, [`metrics`]
//! scores it (confusion matrix, precision, recall), [`classify`] and [`image_input`]
//! classify a user's images, [`export`] writes it for PyTorch, candle, burn and numpy,
//! [`features`] trains on float features (a linear probe of any embedding) through
//! the same loop, and [`download`] fetches the data set. Training options:
//! [`loss`] (softmax, sigmoid, hinge), [`schedule`] (learning rates), [`augment`]
//! (flips and shifts); [`ensemble`] combines networks, [`search`] searches
//! hyper-parameters, and [`bonus`] trains and reports the best recipe found.

/// The `onelayer` command line: `src/main.rs` and the Python package's `onelayer`
/// command both run [`cli::main`].
pub mod cli;
// The command-line sources name the library `onelayer::`, as a binary would.
extern crate self as onelayer;
pub mod augment;
pub mod bonus;
pub mod classify;
pub mod config;
pub mod data;
pub mod download;
pub mod ensemble;
pub mod error;
pub mod experiments;
pub mod export;
pub mod features;
pub mod gradcheck;
pub mod image_input;
pub mod input;
pub mod io;
pub mod kernels;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod modelfile;
/// The pre-processing, a step of preparing the data: [`data::normalize`].
pub use data::normalize;
pub mod npy;
pub mod observations;
pub mod plot;
pub mod report;
pub mod results;
pub mod schedule;
pub mod search;
pub mod team;
#[cfg(test)]
mod testing;
pub mod train;

pub use error::{Error, Result};

/// Number of input dimensions of a CIFAR-10 image: 3 channels × 32 × 32.
pub const D: usize = 3072;
/// Number of classes.
pub const K: usize = 10;
