//! The gradient check the report states: two cases, λ = 0 and λ = [`GRADCHECK_LAMBDA`],
//! on the first images of the training set, each on its own thread, with the
//! tolerances each loss needs.

use crate::config::ConfigError;
use crate::data::normalize::Dataset;
use crate::gradcheck::{self, GradCheckConfig};
use crate::results::{GradCheckReport, GradientCheck};
use crate::{K, Result};

/// λ of the gradient check's second case.
pub const GRADCHECK_LAMBDA: f64 = 0.1;

/// The gradient check on the first images of the training set, with λ = 0 and
/// λ = [`GRADCHECK_LAMBDA`].
pub fn gradient_checks(data: &Dataset, cfg: &GradCheckConfig) -> Result<GradientCheck> {
    let examples = check_examples(data, cfg)?;
    let x = data.columns_f64(0..examples);
    let check = |lambda| gradcheck::check(x.view(), &data.labels[..examples], K, lambda, cfg);
    Ok(both(|| check(0.0), || check(GRADCHECK_LAMBDA)))
}

/// The number of examples a gradient check on `data` uses: `cfg.examples`, at most
/// the images there are, and at least one (a check over none checks nothing).
fn check_examples(data: &Dataset, cfg: &GradCheckConfig) -> Result<usize, ConfigError> {
    let examples = cfg.examples.min(data.len());
    if examples == 0 {
        return Err(ConfigError::Invalid {
            field: "examples".into(),
            reason: format!(
                "a gradient check needs at least 1 example; asked for {} of a training set \
                 of {} images",
                cfg.examples,
                data.len()
            ),
        });
    }
    Ok(examples)
}

/// The checks at λ = 0 and at [`GRADCHECK_LAMBDA`], one on each of two threads.
fn both(
    zero: impl FnOnce() -> GradCheckReport + Send,
    positive: impl FnOnce() -> GradCheckReport + Send,
) -> GradientCheck {
    std::thread::scope(|s| {
        let lambda_zero = s.spawn(zero);
        let lambda_positive = positive();
        GradientCheck {
            lambda_zero: lambda_zero
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            lambda_positive,
        }
    })
}

/// Floor of the relative error's denominator in the hinge loss's check: its
/// ∂J/∂b holds entries that are exactly 0 (integers over n), where the finite
/// difference is rounding noise of about 1e-10.
pub const HINGE_EPS: f64 = 1e-3;

/// Floor of the relative error's denominator in the generalized cross-entropy's
/// check: its gradients are the softmax's weighted by `p_y^q` (about 0.1 at q = 1
/// on random weights), so some entries of ∂J/∂W fall near 1e-7, where the centred
/// difference's rounding error (about ε_mach |J| / h ≈ 1e-11) is 1e-4 of the entry.
pub const GCE_EPS: f64 = 1e-4;

/// Step of the sigmoid loss's finite differences: its gradients carry a factor
/// 1/K, so rounding noise (∝ 1/h) weighs K times more than for softmax; a larger
/// step keeps it below the truncation error (∝ h²).
pub const SIGMOID_STEP: f64 = 1e-4;

/// [`gradient_checks`] for any loss: the softmax one is the model's own check;
/// the others check [`crate::loss::gradients`] against their cost (the hinge
/// loss with the denominator floored at [`HINGE_EPS`], the generalized
/// cross-entropy at [`GCE_EPS`], the others with steps of [`SIGMOID_STEP`]).
pub fn gradient_checks_for(
    loss: crate::loss::Loss,
    data: &Dataset,
    cfg: &GradCheckConfig,
) -> Result<GradientCheck> {
    if loss == crate::loss::Loss::Softmax {
        return gradient_checks(data, cfg);
    }
    let cfg = &match loss {
        crate::loss::Loss::Hinge => GradCheckConfig {
            eps: cfg.eps.max(HINGE_EPS),
            ..cfg.clone()
        },
        crate::loss::Loss::Generalized(_) => GradCheckConfig {
            eps: cfg.eps.max(GCE_EPS),
            ..cfg.clone()
        },
        crate::loss::Loss::Softmax
        | crate::loss::Loss::Sigmoid
        | crate::loss::Loss::SmoothedSoftmax(_) => GradCheckConfig {
            step: SIGMOID_STEP,
            ..cfg.clone()
        },
    };
    let examples = check_examples(data, cfg)?;
    let x = data.columns_f64(0..examples);
    let check =
        |lambda| gradcheck::check_loss(loss, x.view(), &data.labels[..examples], K, lambda, cfg);
    Ok(both(|| check(0.0), || check(GRADCHECK_LAMBDA)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gradient_check_over_no_example_is_refused() {
        let empty = crate::data::LabeledImages {
            pixels: vec![],
            labels: vec![],
        };
        let data = crate::data::normalize::Normalizer::fit(&empty).apply(empty);
        let cfg = super::GradCheckConfig::default();
        for e in [
            super::gradient_checks(&data, &cfg).unwrap_err(),
            super::gradient_checks_for(crate::loss::Loss::Hinge, &data, &cfg).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(
                e.starts_with("examples:") && e.contains("at least 1") && e.contains("of 0"),
                "{e}"
            );
        }
    }
}
