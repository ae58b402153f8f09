//! The options beyond the report's method — the loss, the learning-rate schedule,
//! augmentation and early stopping — in one place, all off by default:
//! [`OptionsConfig`] as a user writes them (the fields of a `[[run]]`, a search's
//! `[base]`, the flags of `onelayer train`), [`RunOptions`] once checked (in a
//! [`super::Hyper`], and in every result and model file).
//!
//! An option is a field of [`OptionsConfig`] (its serde default and its flag), its
//! check in [`OptionsConfig::check`], and its field of [`RunOptions`]; a run's
//! file reads it beside the run's own fields with no other list to extend
//! ([`super::RunConfig`]). A searched option also has its axis in
//! `search::Space`.

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{ConfigError, check_f32_nonzero, invalid};
use crate::augment::Augment;
use crate::loss::Loss;
use crate::schedule::Schedule;

/// The options of one run as written, flattened into a `[[run]]` (and a search's
/// `[base]`, a bonus file's runs) and into the flags of `onelayer train`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Args)]
#[group(id = "run_options", multiple = true)]
pub struct OptionsConfig {
    /// Loss: softmax, sigmoid or hinge.
    ///
    /// In a file also `{ smoothing = ε }` (label smoothing of the softmax loss) or
    /// `{ gce = q }` (the generalized cross-entropy's steps).
    #[serde(default)]
    #[arg(long, default_value_t = Loss::Softmax)]
    pub loss: Loss,
    /// Learning-rate schedule as TOML: 'constant', '{ step = { factor = 10.0, every = 10 } }',
    /// '{ plateau = { factor = 10.0, patience = 3 } }', '{ cyclic = { eta_min = 1e-5, half_cycle = 900 } }'.
    #[serde(default)]
    #[arg(long, default_value = "constant", value_parser = parse_schedule)]
    pub schedule: Schedule,
    /// Probability of flipping each training image left–right.
    #[serde(default)]
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub flip: f64,
    /// Largest random shift of a training image, in pixels.
    #[serde(default)]
    #[arg(long, default_value_t = 0)]
    pub translate: usize,
    /// Stop when the validation loss has not improved for this many epochs; keep the best weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long, value_name = "EPOCHS")]
    pub early_stopping: Option<usize>,
    /// Label smoothing ε of the softmax loss: fit the targets (1 − ε) y + ε/K.
    ///
    /// `label_smoothing = ε` with the softmax loss is `loss = { smoothing = ε }`.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[arg(
        long,
        value_name = "EPSILON",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub label_smoothing: f64,
    /// Generalized cross-entropy: the softmax steps minimise (1 − p_y^q)/q (0: the cross-entropy).
    ///
    /// `gce_q = q` with the softmax loss is `loss = { gce = q }`.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[arg(
        long,
        value_name = "Q",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub gce_q: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Parses a schedule written as a TOML value (`constant`, `{ step = { ... } }`).
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let s = s.trim();
    let value = if s.starts_with('{') {
        s.to_string()
    } else {
        format!("{:?}", s)
    };
    toml::from_str::<toml::Table>(&format!("schedule = {value}"))
        .map_err(|e| e.to_string())?
        .remove("schedule")
        .ok_or_else(|| "missing schedule".to_string())?
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

impl OptionsConfig {
    /// Fails when a number that is not 0 rounds to 0 in f32 (see
    /// `check_f32_nonzero`); `prefix` names the run.
    pub fn check_precision(&self, prefix: &str) -> Result<(), ConfigError> {
        let field = |f: &str| format!("{prefix}{f}");
        for (name, v) in [
            ("label_smoothing", self.label_smoothing),
            ("gce_q", self.gce_q),
        ] {
            check_f32_nonzero(&field(name), v)?;
        }
        match self.loss {
            Loss::SmoothedSoftmax(eps) => check_f32_nonzero(&field("loss.smoothing"), eps),
            Loss::Generalized(q) => check_f32_nonzero(&field("loss.gce"), q),
            _ => Ok(()),
        }
    }

    /// Validates the options of a run whose base rate is `eta`; `prefix` names the
    /// run in errors (`run[1].` or `--`).
    pub fn check(&self, prefix: &str, eta: f64) -> Result<RunOptions, ConfigError> {
        let field = |f: &str| format!("{prefix}{f}");
        self.schedule.check(&field("schedule"), eta)?;
        let augment = Augment {
            flip: self.flip,
            translate: self.translate,
        };
        augment.check(prefix)?;
        if self.early_stopping == Some(0) {
            return Err(invalid(
                &field("early_stopping"),
                "must be at least 1, got 0",
            ));
        }
        let loss = self.step_loss(prefix)?;
        if let Loss::Generalized(_) = loss {
            let name = if self.gce_q > 0.0 { "gce_q" } else { "loss" };
            check_gce_fits(&field(name), self.early_stopping, self.schedule)?;
        }
        Ok(RunOptions {
            loss,
            schedule: self.schedule,
            augment,
            early_stopping: self.early_stopping,
        })
    }

    /// The loss the steps minimise: `loss`, or the softmax loss's smoothed or
    /// generalized form that `label_smoothing` or `gce_q` spell; `prefix` names
    /// the run in errors.
    pub fn step_loss(&self, prefix: &str) -> Result<Loss, ConfigError> {
        let loss = fold_step_loss(self.loss, self.label_smoothing, self.gce_q)
            .map_err(|(f, reason)| invalid(&format!("{prefix}{f}"), reason))?;
        self.loss.check(&format!("{prefix}loss"))?;
        Ok(loss)
    }
}

/// The loss that `loss` with the older fields `label_smoothing = ε` and
/// `gce_q = q` spells (0: absent): ε must be in `[0, 1)`, q in `[0, 1]`, and
/// either goes with the plain softmax loss only, and not with the other. An error
/// names the field and what is wrong.
fn fold_step_loss(loss: Loss, eps: f64, q: f64) -> Result<Loss, (&'static str, String)> {
    if !(0.0..1.0).contains(&eps) {
        return Err(("label_smoothing", format!("must be in [0, 1), got {eps}")));
    }
    if eps > 0.0 && loss != Loss::Softmax {
        let reason = format!("smooths the softmax loss only, but the loss is {loss}");
        return Err(("label_smoothing", reason));
    }
    if !(0.0..=1.0).contains(&q) {
        return Err(("gce_q", format!("must be in [0, 1], got {q}")));
    }
    if q > 0.0 && loss != Loss::Softmax {
        let reason = format!("generalizes the softmax loss only, but the loss is {loss}");
        return Err(("gce_q", reason));
    }
    if q > 0.0 && eps > 0.0 {
        return Err((
            "gce_q",
            format!("cannot go with label smoothing (ε = {eps})"),
        ));
    }
    Ok(match (eps, q) {
        (0.0, 0.0) => loss,
        (eps, 0.0) => Loss::SmoothedSoftmax(eps),
        (_, q) => Loss::Generalized(q),
    })
}

/// Early stopping and the plateau schedule follow the validation cross-entropy,
/// which the generalized cross-entropy does not lower: under it the cross-entropy
/// rises from the first epochs while the accuracy climbs, and both would stop the
/// run far too early.
fn check_gce_fits(
    field: &str,
    early_stopping: Option<usize>,
    schedule: Schedule,
) -> Result<(), ConfigError> {
    if early_stopping.is_some() {
        return Err(invalid(
            field,
            "cannot go with early stopping, which follows the validation cross-entropy",
        ));
    }
    if matches!(schedule, Schedule::Plateau { .. }) {
        return Err(invalid(
            field,
            "cannot go with the plateau schedule, which follows the validation cross-entropy",
        ));
    }
    Ok(())
}

/// The checked options of a run. Saved in `results.json` and model files as
/// `{ loss, schedule, augment, early_stopping, label_smoothing, gce_q }`, the
/// loss there being the one reported and the last two spelling the step loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "OptionsRecord", try_from = "OptionsRecord")]
pub struct RunOptions {
    /// The loss the gradient steps minimise.
    pub loss: Loss,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Augmentation of the training mini-batches.
    pub augment: Augment,
    /// Patience of early stopping on the validation loss, in epochs.
    pub early_stopping: Option<usize>,
}

impl RunOptions {
    /// The loss the gradient steps use.
    pub fn step_loss(&self) -> Loss {
        self.loss
    }

    /// The loss every reported loss (training, validation, test) is of:
    /// [`Loss::reported`] of the step loss, so that runs with and without label
    /// smoothing or the generalized cross-entropy compare.
    pub fn reported_loss(&self) -> Loss {
        self.loss.reported()
    }
}

/// [`RunOptions`] as results and model files hold them.
#[derive(Serialize, Deserialize)]
struct OptionsRecord {
    #[serde(default)]
    loss: Loss,
    #[serde(default)]
    schedule: Schedule,
    #[serde(default)]
    augment: Augment,
    #[serde(default)]
    early_stopping: Option<usize>,
    #[serde(default)]
    label_smoothing: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    gce_q: f64,
}

impl From<RunOptions> for OptionsRecord {
    fn from(o: RunOptions) -> OptionsRecord {
        let (label_smoothing, gce_q) = match o.loss {
            Loss::SmoothedSoftmax(eps) => (eps, 0.0),
            Loss::Generalized(q) => (0.0, q),
            _ => (0.0, 0.0),
        };
        OptionsRecord {
            loss: o.loss.reported(),
            schedule: o.schedule,
            augment: o.augment,
            early_stopping: o.early_stopping,
            label_smoothing,
            gce_q,
        }
    }
}

impl TryFrom<OptionsRecord> for RunOptions {
    type Error = String;

    fn try_from(r: OptionsRecord) -> Result<RunOptions, String> {
        let loss = fold_step_loss(r.loss, r.label_smoothing, r.gce_q)
            .map_err(|(field, reason)| format!("options.{field}: {reason}"))?;
        Ok(RunOptions {
            loss,
            schedule: r.schedule,
            augment: r.augment,
            early_stopping: r.early_stopping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_loss_has_two_spellings_and_results_keep_theirs() {
        let run = |text: &str| -> OptionsConfig { toml::from_str(text).unwrap() };
        let old = run("label_smoothing = 0.25\n").check("", 0.1).unwrap();
        let new = run("loss = { smoothing = 0.25 }\n").check("", 0.1).unwrap();
        assert_eq!((old, old.loss), (new, Loss::SmoothedSoftmax(0.25)));
        let old = run("gce_q = 0.5\n").check("", 0.1).unwrap();
        let new = run("loss = { gce = 0.5 }\n").check("", 0.1).unwrap();
        assert_eq!((old, old.loss), (new, Loss::Generalized(0.5)));
        assert_eq!(old.reported_loss(), Loss::Softmax);
        // Both spellings at once, or a parameter out of range, are named.
        let e = run("loss = { gce = 0.5 }\ngce_q = 0.5\n").check("--", 0.1);
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("--gce_q: generalizes the softmax loss only"),
            "{e}"
        );
        for (text, want) in [
            (
                "loss = { gce = 0.0 }\n",
                "r.loss.gce: must be in (0, 1], got 0",
            ),
            (
                "loss = { smoothing = 1.0 }\n",
                "r.loss.smoothing: must be in [0, 1)",
            ),
            (
                "loss = { gce = 0.5 }\nearly_stopping = 2\n",
                "r.loss: cannot go with early",
            ),
        ] {
            let e = run(text).check("r.", 0.1).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
        // Results hold the reported loss and the older fields, as they always did.
        let json = serde_json::to_value(old).unwrap();
        assert_eq!(json["loss"], "softmax");
        assert_eq!(
            (json["gce_q"].as_f64(), json["label_smoothing"].as_f64()),
            (Some(0.5), Some(0.0))
        );
        assert_eq!(serde_json::from_value::<RunOptions>(json).unwrap(), old);
        let plain = serde_json::to_value(RunOptions::default()).unwrap();
        assert!(plain.get("gce_q").is_none() && plain["label_smoothing"] == 0.0);
    }

    #[test]
    fn a_loss_with_a_parameter_is_named_as_written() {
        let run = |text: &str| -> OptionsConfig { toml::from_str(text).unwrap() };
        for (text, want) in [
            (
                "loss = { gce = 0.7 }\nlabel_smoothing = 0.2\n",
                "r.label_smoothing: smooths the softmax loss only, but the loss is { gce = 0.7 }",
            ),
            (
                "loss = { smoothing = 0.2 }\ngce_q = 0.5\n",
                "r.gce_q: generalizes the softmax loss only, but the loss is { smoothing = 0.2 }",
            ),
            (
                "loss = { gce = 0.7 }\ngce_q = 0.5\n",
                "r.gce_q: generalizes the softmax loss only, but the loss is { gce = 0.7 }",
            ),
            (
                "loss = \"hinge\"\nlabel_smoothing = 0.2\n",
                "r.label_smoothing: smooths the softmax loss only, but the loss is hinge",
            ),
        ] {
            let e = run(text).check("r.", 0.1).unwrap_err().to_string();
            assert_eq!(e, want, "{text}");
        }
    }
}
