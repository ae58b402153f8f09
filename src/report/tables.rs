//! The report's tables as plain data, rendered to HTML and Markdown alike.

use crate::results::{Results, RunResult};

/// A table: a header and rows of text cells; `numeric` columns align right.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Whether each column holds numbers.
    pub numeric: Vec<bool>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

fn strings<const N: usize>(v: [&str; N]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The setup as `(what, value)` pairs.
pub fn setup(r: &Results) -> Vec<(String, String)> {
    let s = &r.setup;
    let mut seeds: Vec<u64> = r.runs.iter().map(|r| r.run.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let shuffled = r.runs.iter().filter(|r| r.run.shuffle).count();
    let pairs = [
        ("Data", s.data.clone()),
        ("Training set", s.train_batches.join(", ")),
        ("Validation set", s.validation.clone()),
        (
            "Sizes",
            format!(
                "{} training, {} validation, {} test images",
                s.n_train, s.n_val, s.n_test
            ),
        ),
        ("Classes", s.class_names.join(", ")),
        ("Pre-processing", s.preprocessing.clone()),
        (
            "Model",
            format!(
                "one layer: s = Wx + b, p = softmax(s); W: {k}×{d}, b: {k}; cost = mean \
                 cross-entropy + λ‖W‖²; mini-batch gradient descent",
                k = s.class_names.len(),
                d = crate::D
            ),
        ),
        ("Initialisation", s.initialisation.clone()),
        (
            "Seed",
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "Shuffling",
            format!("{shuffled} of {} runs shuffle every epoch", r.runs.len()),
        ),
        ("Threads", s.threads.to_string()),
        ("Kernels", s.kernels.clone()),
        ("onelayer", r.onelayer_version.clone()),
    ];
    let pairs = pairs.into_iter().filter(|(_, v)| !v.is_empty());
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The gradient check: max and mean relative errors for W and b, one row per λ.
pub fn gradient_check(r: &Results) -> Table {
    Table {
        header: strings([
            "λ",
            "dims",
            "examples",
            "step",
            "max rel. error W",
            "mean rel. error W",
            "max rel. error b",
            "mean rel. error b",
        ]),
        numeric: vec![true; 8],
        rows: r
            .gradient_check
            .reports()
            .iter()
            .map(|g| {
                vec![
                    g.lambda.to_string(),
                    g.dims.to_string(),
                    g.examples.to_string(),
                    format!("{:.0e}", g.step),
                    format!("{:.2e}", g.max_rel_w),
                    format!("{:.2e}", g.mean_rel_w),
                    format!("{:.2e}", g.max_rel_b),
                    format!("{:.2e}", g.mean_rel_b),
                ]
            })
            .collect(),
    }
}

fn last(v: &[f64], scale: f64, decimals: usize, unit: &str) -> String {
    match v.last() {
        Some(x) => format!("{:.decimals$}{unit}", scale * x),
        None => "—".to_string(),
    }
}

fn epochs(r: &RunResult) -> String {
    match r.diverged_at_epoch {
        Some(e) => format!(
            "{} of {} (diverged in {e})",
            r.history.epochs(),
            r.run.n_epochs
        ),
        None => r.run.n_epochs.to_string(),
    }
}

/// One row per run: settings, final training and validation loss and accuracy,
/// test accuracy and time.
pub fn experiments(r: &Results) -> Table {
    let mut numeric = vec![true; 12];
    numeric[0] = false;
    Table {
        header: strings([
            "run",
            "λ",
            "η",
            "epochs",
            "batch",
            "train loss",
            "val loss",
            "train acc.",
            "val acc.",
            "test acc.",
            "test loss",
            "time (s)",
        ]),
        numeric,
        rows: r
            .runs
            .iter()
            .map(|run| {
                let h = &run.history;
                vec![
                    run.run.name.clone(),
                    run.run.lambda.to_string(),
                    run.run.eta.to_string(),
                    epochs(run),
                    run.run.n_batch.to_string(),
                    last(&h.train_loss, 1.0, 4, ""),
                    last(&h.val_loss, 1.0, 4, ""),
                    last(&h.train_accuracy, 100.0, 2, "%"),
                    last(&h.val_accuracy, 100.0, 2, "%"),
                    format!("{:.2}%", 100.0 * run.test_accuracy),
                    format!("{:.4}", run.test_loss),
                    format!("{:.1}", run.seconds),
                ]
            })
            .collect(),
    }
}
