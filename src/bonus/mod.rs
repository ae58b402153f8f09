//! Beyond the report: the best recipe found by the search, trained on all five
//! batches, an ensemble of it over seeds, the same recipe with sigmoid outputs,
//! and the comparison with the report's four settings.

use std::path::Path;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Hyper, RunConfig, SplitConfig};
use crate::data::Prepared;
use crate::ensemble;
use crate::loss::Loss;
use crate::model::{self, Model};
use crate::normalize::Dataset;
use crate::results::{RunResult, Setup};
use crate::train::{self, ObserverFactory};

pub mod figures;
pub mod section;

/// A bonus file (`configs/bonus.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BonusConfig {
    /// The split: all five batches with a held-out validation set.
    pub split: SplitConfig,
    /// The best recipe found on validation.
    pub best: RunConfig,
    /// Seeds of the ensemble's other members: the best recipe trained again with
    /// each (the best run itself is the first member).
    pub ensemble_seeds: Vec<u64>,
    /// Further ensemble members with other hyper-parameters or losses
    /// (`[[member]]`, named `member<i>` unless named).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member: Vec<RunConfig>,
    /// The recipe with sigmoid outputs, for the histograms of the true class's
    /// probability.
    pub sigmoid: RunConfig,
}

impl BonusConfig {
    /// Reads and parses a TOML bonus file (not yet checked).
    pub fn from_file(path: &Path) -> Result<BonusConfig, ConfigError> {
        crate::config::read_toml(path)
    }

    /// The checked runs: the best recipe, its other seeds, the other members,
    /// then the sigmoid one.
    pub fn runs(&self, n_train: usize) -> Result<Vec<Hyper>, ConfigError> {
        self.split.check()?;
        let mut best = self.best.clone();
        best.name.get_or_insert_with(|| "best".into());
        let mut out = vec![best.check("best.", n_train)?];
        for (i, &seed) in self.ensemble_seeds.iter().enumerate() {
            let field = format!("ensemble_seeds[{i}]");
            if seed == self.best.seed || self.ensemble_seeds[..i].contains(&seed) {
                return Err(ConfigError::Invalid {
                    field,
                    reason: format!("seed {seed} is already a member"),
                });
            }
            let member = RunConfig {
                name: Some(format!("{}_seed{seed}", out[0].name)),
                seed,
                ..best.clone()
            };
            out.push(member.check(&format!("{field}."), n_train)?);
        }
        for (i, m) in self.member.iter().enumerate() {
            let mut m = m.clone();
            m.name.get_or_insert_with(|| format!("member{i}"));
            let h = m.check(&format!("member[{i}]."), n_train)?;
            if out.iter().any(|o| o.name == h.name) {
                return Err(ConfigError::Invalid {
                    field: format!("member[{i}].name"),
                    reason: format!("{:?} is used by another run", h.name),
                });
            }
            out.push(h);
        }
        let mut sigmoid = self.sigmoid.clone();
        sigmoid.name.get_or_insert_with(|| "sigmoid".into());
        if sigmoid.options.loss != Loss::Sigmoid {
            return Err(ConfigError::Invalid {
                field: "sigmoid.loss".into(),
                reason: format!("must be \"sigmoid\", got {:?}", sigmoid.options.loss.name()),
            });
        }
        out.push(sigmoid.check("sigmoid.", n_train)?);
        Ok(out)
    }
}

/// An ensemble's test accuracy, by averaged probabilities and by majority vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleResult {
    /// The members' run names, best first.
    pub members: Vec<String>,
    /// Each member's test accuracy.
    pub member_accuracy: Vec<f64>,
    /// Test accuracy of the averaged probabilities' arg-max.
    pub average_accuracy: f64,
    /// Test accuracy of the majority vote.
    pub vote_accuracy: f64,
    /// Validation accuracy of the averaged probabilities' arg-max.
    pub average_val_accuracy: f64,
}

/// Counts of test images by the probability their model gave the true class,
/// in equal bins over `[0, 1]`, for correctly and for wrongly classified images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueClassHistogram {
    /// The loss of the model (`softmax`: `p_y = softmax(s)_y`; `sigmoid`: `σ(s_y)`).
    pub loss: Loss,
    /// Counts of correctly classified images per bin.
    pub correct: Vec<usize>,
    /// Counts of wrongly classified images per bin.
    pub incorrect: Vec<usize>,
    /// Mean true-class probability of the correct images.
    pub mean_correct: f64,
    /// Mean true-class probability of the wrong images.
    pub mean_incorrect: f64,
}

/// Bins of the histograms.
pub const BINS: usize = 20;

/// The histogram of the true class's probability of `m` on `(x: d×n, y)`.
pub fn true_class_histogram(
    m: &Model,
    loss: Loss,
    x: ArrayView2<f32>,
    labels: &[u8],
) -> TrueClassHistogram {
    let s = model::scores(m.w.view(), m.b.view(), x);
    let p = ensemble::probabilities(m, loss, x);
    let mut h = TrueClassHistogram {
        loss,
        correct: vec![0; BINS],
        incorrect: vec![0; BINS],
        mean_correct: 0.0,
        mean_incorrect: 0.0,
    };
    let (mut sum_c, mut sum_i) = (0f64, 0f64);
    for ((sc, pc), &y) in s.columns().into_iter().zip(p.columns()).zip(labels) {
        let py = f64::from(pc[y as usize]);
        let bin = ((py * BINS as f64) as usize).min(BINS - 1);
        if model::argmax(sc) == y as usize {
            h.correct[bin] += 1;
            sum_c += py;
        } else {
            h.incorrect[bin] += 1;
            sum_i += py;
        }
    }
    let (nc, ni): (usize, usize) = (h.correct.iter().sum(), h.incorrect.iter().sum());
    h.mean_correct = if nc > 0 { sum_c / nc as f64 } else { 0.0 };
    h.mean_incorrect = if ni > 0 { sum_i / ni as f64 } else { 0.0 };
    h
}

/// Everything `onelayer bonus` computes, as written to `bonus.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BonusResults {
    /// The version of onelayer that wrote it.
    pub onelayer_version: String,
    /// Data, split and pre-processing of the bonus runs.
    pub setup: Setup,
    /// The best recipe.
    pub best: RunResult,
    /// The ensemble's other members (other seeds, then other settings).
    pub members: Vec<RunResult>,
    /// The ensemble of the best run and its members.
    pub ensemble: EnsembleResult,
    /// The recipe with sigmoid outputs.
    pub sigmoid: RunResult,
    /// True-class probability histograms: softmax (the best run), then sigmoid.
    pub histograms: [TrueClassHistogram; 2],
    /// The report's four settings, for comparison.
    pub report_runs: Vec<RunResult>,
}

/// The bonus results and the weights of the best and sigmoid runs.
#[derive(Debug, Clone)]
pub struct BonusOutput {
    /// The record.
    pub results: BonusResults,
    /// The best run's weights.
    pub best_model: Model,
    /// The sigmoid run's weights.
    pub sigmoid_model: Model,
    /// The normalisation of the training data.
    pub normalizer: crate::normalize::Normalizer,
    /// The best run's checked settings.
    pub best_hyper: Hyper,
    /// The training data's fingerprint.
    pub fingerprint: crate::data::DataFingerprint,
}

impl BonusOutput {
    /// The best network as a model file (see [`crate::modelfile`]).
    pub fn best_model_file(&self, split: &SplitConfig) -> crate::modelfile::ModelFile {
        use crate::modelfile::{ModelFile, ModelMeta};
        ModelFile {
            model: self.best_model.clone(),
            normalizer: self.normalizer.clone(),
            meta: ModelMeta::new(
                self.results.setup.class_names.clone(),
                self.best_hyper.clone(),
                split.clone(),
                self.fingerprint.clone(),
                Some(self.results.best.test_accuracy),
            ),
        }
    }
}

/// Trains the bonus runs on `data` (`threads` at a time) and evaluates the
/// ensemble and histograms on the test set. `report_runs` are the report's
/// four results to compare with.
pub fn run_bonus(
    cfg: &BonusConfig,
    data: &Prepared,
    report_runs: Vec<RunResult>,
    threads: usize,
    observers: &ObserverFactory,
) -> crate::Result<BonusOutput> {
    let hypers = cfg.runs(data.train.len())?;
    let mut outs = train::run_all(&hypers, data, threads, observers);
    let sigmoid = outs.pop().ok_or(ConfigError::Invalid {
        field: "sigmoid".into(),
        reason: "did not run".into(),
    })?;
    let models: Vec<(&Model, Loss)> = outs
        .iter()
        .map(|o| (&o.model, o.result.run.options.reported_loss()))
        .collect();
    let ens = ensemble_result(
        &models,
        &outs
            .iter()
            .map(|o| o.result.run.name.clone())
            .collect::<Vec<_>>(),
        &data.val,
        &data.test,
    )?;
    let best = outs.remove(0);
    let test_x = data.test.normalizer.normalize(&data.test.pixels);
    let histograms = [
        true_class_histogram(&best.model, Loss::Softmax, test_x.view(), &data.test.labels),
        true_class_histogram(
            &sigmoid.model,
            Loss::Sigmoid,
            test_x.view(),
            &data.test.labels,
        ),
    ];
    Ok(BonusOutput {
        results: BonusResults {
            onelayer_version: env!("CARGO_PKG_VERSION").to_string(),
            setup: Setup::of(data, threads),
            best: best.result,
            members: outs.into_iter().map(|o| o.result).collect(),
            ensemble: ens,
            sigmoid: sigmoid.result,
            histograms,
            report_runs,
        },
        best_model: best.model,
        sigmoid_model: sigmoid.model,
        normalizer: data.normalizer.clone(),
        best_hyper: hypers[0].clone(),
        fingerprint: data.fingerprint.clone(),
    })
}

/// Test (and validation) accuracy of the members combined both ways.
fn ensemble_result(
    models: &[(&Model, Loss)],
    names: &[String],
    val: &Dataset,
    test: &Dataset,
) -> Result<EnsembleResult, ensemble::EnsembleError> {
    let probs = |d: &Dataset| -> Vec<_> {
        let x = d.normalizer.normalize(&d.pixels);
        models
            .iter()
            .map(|(m, l)| ensemble::probabilities(m, *l, x.view()))
            .collect()
    };
    let test_p = probs(test);
    let votes: Vec<Vec<u8>> = test_p
        .iter()
        .map(|p| ensemble::predictions(p.view()))
        .collect();
    let avg = ensemble::average(&test_p)?;
    let val_avg = ensemble::average(&probs(val))?;
    Ok(EnsembleResult {
        members: names.to_vec(),
        member_accuracy: votes
            .iter()
            .map(|v| ensemble::accuracy(v, &test.labels))
            .collect(),
        average_accuracy: ensemble::accuracy(&ensemble::predictions(avg.view()), &test.labels),
        vote_accuracy: ensemble::accuracy(
            &ensemble::majority_vote(&votes, crate::K)?,
            &test.labels,
        ),
        average_val_accuracy: ensemble::accuracy(
            &ensemble::predictions(val_avg.view()),
            &val.labels,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn histogram_of_the_true_class_probability_by_hand() {
        // Two classes, scores s = W x with W = I: image 0 scores (2, 0), image 1
        // (0, 0), image 2 (0, 3).
        let m = Model {
            w: array![[1.0f32, 0.0], [0.0, 1.0]],
            b: array![0.0, 0.0],
        };
        let x = array![[2.0f32, 0.0, 0.0], [0.0, 0.0, 3.0]];
        let labels = [0u8, 1, 0];
        let h = true_class_histogram(&m, Loss::Softmax, x.view(), &labels);
        // Image 0: correct, p = e²/(e²+1) = 0.881 → bin 17. Image 1: a tie goes to
        // class 0, so wrong, p = 0.5 → bin 10. Image 2: wrong, p = 1/(1+e³) = 0.047 → bin 0.
        let p0 = 2f64.exp() / (2f64.exp() + 1.0);
        let p2 = 1.0 / (1.0 + 3f64.exp());
        let mut want_c = vec![0; BINS];
        want_c[17] = 1;
        let mut want_i = vec![0; BINS];
        want_i[10] = 1;
        want_i[0] = 1;
        assert_eq!((h.correct.clone(), h.incorrect.clone()), (want_c, want_i));
        assert!((h.mean_correct - p0).abs() < 1e-6);
        assert!((h.mean_incorrect - (0.5 + p2) / 2.0).abs() < 1e-6);
        // Sigmoid: σ(s_y) = σ(2), σ(0), σ(0).
        let g = true_class_histogram(&m, Loss::Sigmoid, x.view(), &labels);
        let s2 = 1.0 / (1.0 + (-2f64).exp());
        assert!((g.mean_correct - s2).abs() < 1e-6);
        assert!((g.mean_incorrect - 0.5).abs() < 1e-6);
    }

    #[test]
    fn the_shipped_config_checks_and_names_its_runs() {
        let cfg: BonusConfig = toml::from_str(include_str!("../../configs/bonus.toml")).unwrap();
        let runs = cfg.runs(49_000).unwrap();
        assert_eq!(
            runs.len(),
            1 + cfg.ensemble_seeds.len() + cfg.member.len() + 1
        );
        assert_eq!(runs[0].name, "best");
        assert_eq!(runs[1].name, format!("best_seed{}", cfg.ensemble_seeds[0]));
        assert_eq!(runs[1].options, runs[0].options);
        assert_eq!(runs.last().unwrap().options.reported_loss(), Loss::Sigmoid);
        let mut dup = cfg.clone();
        dup.ensemble_seeds = vec![1, cfg.best.seed];
        let e = dup.runs(49_000).unwrap_err().to_string();
        assert!(e.starts_with("ensemble_seeds[1]"), "{e}");
        let mut twice = cfg.clone();
        twice.member.push(twice.member[0].clone());
        let e = twice.runs(49_000).unwrap_err().to_string();
        assert!(e.contains(".name") && e.contains("another run"), "{e}");
        let mut wrong = cfg;
        wrong.sigmoid.options.loss = Loss::Hinge;
        assert!(
            wrong
                .runs(49_000)
                .unwrap_err()
                .to_string()
                .starts_with("sigmoid.loss")
        );
    }
}
