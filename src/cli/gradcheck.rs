//! `onelayer gradcheck`: analytic against numerical gradients on the real data.

use std::process::ExitCode;

use clap::Args;
use onelayer::config::{OptionsConfig, SplitConfig};
use onelayer::gradcheck::GradCheckConfig;
use onelayer::loss::Loss;
use onelayer::results::GradientCheck;
use onelayer::{data, gradcheck};

use super::DataArgs;

/// Arguments of `gradcheck`.
#[derive(Debug, Args)]
pub struct GradcheckArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Input dimensions checked (the first DIMS of each image).
    #[arg(long, default_value_t = 100)]
    dims: usize,
    /// Examples checked (the first N training images).
    #[arg(long, default_value_t = 50)]
    examples: usize,
    /// The loss whose gradients are checked: softmax, sigmoid or hinge.
    #[arg(long, default_value_t = Loss::Softmax)]
    loss: Loss,
    /// Check the generalized cross-entropy (1 − p_y^q)/q of the softmax instead (0: off).
    #[arg(
        long,
        value_name = "Q",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    gce_q: f64,
    /// Fail when a relative error exceeds this.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
}

/// Prints the max and mean relative errors for W and b with λ = 0 and λ = 0.1;
/// exits with status 1 above the tolerance.
pub fn run(a: GradcheckArgs) -> anyhow::Result<ExitCode> {
    let loss = checked_loss(&a)?;
    let (path, opts) = a.data.resolve()?;
    let data = data::prepare(&path, &SplitConfig::default(), &opts)?;
    if a.examples > data.train.len() {
        anyhow::bail!(
            "--examples: must be at most {}, the training set's size, got {}",
            data.train.len(),
            a.examples
        );
    }
    let cfg = GradCheckConfig {
        dims: a.dims,
        examples: a.examples,
        ..GradCheckConfig::default()
    };
    let reports = gradcheck::gradient_checks_for(loss, &data.train, &cfg)?;
    print_reports(&reports, a.tolerance)
}

/// Checks the flags that need no data, and returns the loss to check.
fn checked_loss(a: &GradcheckArgs) -> anyhow::Result<Loss> {
    if a.dims == 0 || a.dims > onelayer::D {
        anyhow::bail!("--dims: must be in 1..={}, got {}", onelayer::D, a.dims);
    }
    if a.examples == 0 {
        anyhow::bail!("--examples: must be at least 1");
    }
    if !(a.tolerance.is_finite() && a.tolerance > 0.0) {
        anyhow::bail!(
            "--tolerance: must be a finite number > 0, got {}",
            a.tolerance
        );
    }
    let options = OptionsConfig {
        loss: a.loss,
        gce_q: a.gce_q,
        ..OptionsConfig::default()
    };
    options
        .step_loss("--")
        .map_err(|e| anyhow::anyhow!("{}", super::reproduce::run_flag_error(&e.to_string())))
}

/// Prints one line per λ; success when no relative error exceeds `tolerance`.
fn print_reports(reports: &GradientCheck, tolerance: f64) -> anyhow::Result<ExitCode> {
    outln!(
        "{:>6} {:>5} {:>8} {:>12} {:>12} {:>12} {:>12}",
        "lambda",
        "dims",
        "examples",
        "max rel W",
        "mean rel W",
        "max rel b",
        "mean rel b"
    )?;
    let mut ok = true;
    for r in reports.reports() {
        outln!(
            "{:>6} {:>5} {:>8} {:>12.3e} {:>12.3e} {:>12.3e} {:>12.3e}",
            r.lambda,
            r.dims,
            r.examples,
            r.max_rel_w,
            r.mean_rel_w,
            r.max_rel_b,
            r.mean_rel_b
        )?;
        ok &= r.max_rel() <= tolerance;
    }
    if ok {
        outln!("gradient check passed (tolerance {:e})", tolerance)?;
        Ok(ExitCode::SUCCESS)
    } else {
        errln!(
            "gradient check FAILED: a relative error exceeds {:e}",
            tolerance
        );
        Ok(ExitCode::FAILURE)
    }
}
