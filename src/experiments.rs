//! Experiments: read and split the data, run the gradient check and every run,
//! and write what they produce (`results.json`, weights as `.npy`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::config::{ConfigError, ExperimentConfig, Hyper, SplitConfig, Validation};
use crate::data::{self, BatchName, Check, LabeledImages, Layout, ReadOptions};
use crate::gradcheck::{self, GradCheckConfig};
use crate::io::{self, OutputError};
use crate::kernels;
use crate::model::Model;
use crate::modelfile::{self, DataFingerprint, ModelFile, ModelMeta};
use crate::normalize::{Dataset, Normalizer};
use crate::results::{GradCheckReport, GradientCheck, Results, RunResult, Setup};
use crate::train::{self, Observer};
use crate::{K, Result};

/// The data of an experiment, split and normalised with the training statistics.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Mean and std of the training data.
    pub normalizer: Normalizer,
    /// Training set.
    pub train: Dataset,
    /// Validation set.
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Where the data came from, the split and the class names.
    pub setup: Setup,
    /// What the training set was, for the model file.
    pub fingerprint: DataFingerprint,
}

/// Reads the batches that `split` needs from `path`, splits and normalises them.
pub fn prepare(path: &Path, split: &SplitConfig, opts: &ReadOptions) -> Result<Prepared> {
    split.check()?;
    let mut which: Vec<BatchName> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b))
        .collect();
    if let Validation::Batch(b) = split.validation {
        which.push(BatchName::Data(b));
    }
    which.push(BatchName::Test);
    let mut read = data::read(path, &which, opts)?;
    let test = read.batches.pop().unwrap_or_else(empty);
    let files = |names: &[BatchName]| {
        let files: Vec<String> = names.iter().map(|&b| read.layout.file_name(b)).collect();
        format!("{} in {}", files.join(", "), read.source.display())
    };
    let train_files = files(&which[..split.train_batches.len()]);
    if test.is_empty() {
        return Err(ConfigError::Invalid {
            field: "test set".into(),
            reason: format!(
                "{} holds no images; evaluating needs at least one",
                files(&[BatchName::Test])
            ),
        }
        .into());
    }
    let (train, val, validation) = match split.validation {
        Validation::Batch(b) => {
            let val = read.batches.pop().unwrap_or_else(empty);
            if val.is_empty() {
                return Err(ConfigError::Invalid {
                    field: "validation.batch".into(),
                    reason: format!(
                        "{} holds no images; validate on another batch or hold images out",
                        files(&[BatchName::Data(b)])
                    ),
                }
                .into());
            }
            (concat(read.batches), val, BatchName::Data(b).stem())
        }
        Validation::HoldOut(n) => {
            let all = concat(read.batches);
            if n >= all.len() {
                return Err(ConfigError::Invalid {
                    field: "validation.hold_out".into(),
                    reason: format!(
                        "holds out {n} images but the training batches ({train_files}) hold \
                         only {}; hold out fewer, so that some are left to train on",
                        all.len()
                    ),
                }
                .into());
            }
            let cut = all.len() - n;
            let (train, val) = split_at(all, cut);
            (
                train,
                val,
                format!("last {n} images of the training batches, held out"),
            )
        }
    };
    if train.is_empty() {
        return Err(ConfigError::Invalid {
            field: "train_batches".into(),
            reason: format!("{train_files} hold no images; training needs at least one"),
        }
        .into());
    }
    let train_batches: Vec<String> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b).stem())
        .collect();
    let source = read.source.display().to_string();
    // A training set that is one whole batch of the binary version, verified
    // against its published md5, has that md5 as its records' md5: the records
    // are the file.
    let verified = match (
        split.train_batches.as_slice(),
        &split.validation,
        read.layout,
        read.checks.first(),
    ) {
        ([b], Validation::Batch(_), Layout::Binary, Some(Check::Official)) => {
            data::verify::official_md5(&Layout::Binary.file_name(BatchName::Data(*b)))
        }
        _ => None,
    };
    // Else the md5 of the training records, on a second core.
    let (normalizer, md5) = std::thread::scope(|s| {
        let computed = verified
            .is_none()
            .then(|| s.spawn(|| modelfile::records_md5(&train)));
        let normalizer = Normalizer::fit(&train);
        let md5 = match computed {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => verified.unwrap_or_default().to_string(),
        };
        (normalizer, md5)
    });
    let fingerprint = DataFingerprint::with_md5(&source, &train_batches, train.len(), md5);
    let setup = Setup {
        data: read.source.display().to_string(),
        train_batches,
        validation,
        n_train: train.len(),
        n_val: val.len(),
        n_test: test.len(),
        class_names: read.class_names,
        preprocessing:
            "x/255, then per dimension minus the training mean and divided by the training \
                        (population) standard deviation"
                .into(),
        initialisation: format!(
            "W ~ N(0, {}²), b = 0, PCG64 seeded per run",
            crate::model::INIT_STD
        ),
        threads: 1,
        kernels: crate::kernels::Isa::chosen().name().into(),
    };
    Ok(Prepared {
        train: normalizer.apply(train),
        val: normalizer.apply(val),
        test: normalizer.apply(test),
        normalizer,
        setup,
        fingerprint,
    })
}

fn empty() -> LabeledImages {
    LabeledImages {
        pixels: vec![],
        labels: vec![],
    }
}

fn concat(batches: Vec<LabeledImages>) -> LabeledImages {
    let mut it = batches.into_iter();
    let mut out = it.next().unwrap_or_else(empty);
    for b in it {
        out.pixels.extend_from_slice(&b.pixels);
        out.labels.extend_from_slice(&b.labels);
    }
    out
}

fn split_at(mut all: LabeledImages, cut: usize) -> (LabeledImages, LabeledImages) {
    let val = LabeledImages {
        pixels: all.pixels.split_off(cut * crate::D),
        labels: all.labels.split_off(cut),
    };
    (all, val)
}

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
        _ => GradCheckConfig {
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

/// A finished run: its record and its weights.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// What goes into `results.json`.
    pub result: RunResult,
    /// The trained weights.
    pub model: Model,
}

/// Trains one run and evaluates it on the test set.
pub fn run_one(h: &Hyper, data: &Prepared, observer: &mut dyn Observer) -> RunOutput {
    let mut out = run_group(std::slice::from_ref(h), data, &mut [observer]);
    out.pop()
        .unwrap_or_else(|| unreachable!("one run in, one result out"))
}

/// Trains runs together ([`train::train_runs`]: those that share their mini-batches
/// share their passes over the data) and evaluates each on the test set. Each run's
/// `seconds` is the wall-clock time of the whole group.
pub fn run_group(
    hypers: &[Hyper],
    data: &Prepared,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunOutput> {
    run_group_in(hypers, data, None, observers)
}

/// [`run_group`], as a member of a team evaluating on `data`'s training and
/// validation sets when `member` is given (then the group is one stack).
fn run_group_in(
    hypers: &[Hyper],
    data: &Prepared,
    member: Option<kernels::TeamMember>,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunOutput> {
    let start = Instant::now();
    let trained = match member {
        // The member leaves as soon as its training is over.
        Some(m) => train::train_in_team(hypers, &m, observers),
        None => train::train_runs(hypers, &data.train, &data.val, observers),
    };
    // The test set once for all the group's runs, stacked (as each alone).
    let models: Vec<Model> = trained.iter().map(|t| t.model.clone()).collect();
    let lambda: Vec<f64> = hypers.iter().map(|h| h.lambda).collect();
    let loss: Vec<_> = hypers.iter().map(|h| h.options.loss).collect();
    let affine = data.test.normalizer.affine();
    let test = kernels::Workspace::default().evaluate(
        &kernels::Stack::new(&models),
        kernels::Images::new(&data.test.pixels, &affine),
        &data.test.labels,
        &lambda,
        &loss,
    );
    let outputs: Vec<_> = hypers
        .iter()
        .zip(test)
        .zip(trained)
        .map(|((h, test), t)| (h, test, t))
        .collect();
    let seconds = start.elapsed().as_secs_f64();
    outputs
        .into_iter()
        .map(|(h, test, trained)| RunOutput {
            result: RunResult {
                name: h.name.clone(),
                lambda: h.lambda,
                eta: h.eta,
                n_epochs: h.n_epochs,
                n_batch: h.n_batch,
                seed: h.seed,
                shuffle: h.shuffle,
                diverged: trained.diverged_at_epoch.is_some(),
                diverged_at_epoch: trained.diverged_at_epoch,
                test_accuracy: test.accuracy,
                test_loss: test.loss,
                seconds,
                history: trained.history,
                options: h.options,
                best_epoch: trained.best_epoch,
                stopped_at_epoch: trained.stopped_at_epoch,
            },
            model: trained.model,
        })
        .collect()
}

/// Makes the observer of run `i`.
pub type ObserverFactory<'a> = dyn Fn(usize, &Hyper) -> Box<dyn Observer + Send> + Sync + 'a;

/// Splits runs into at most `threads` groups of balanced work (epochs), each group
/// holding only runs of one of [`train::stack_groups`], so that each group trains
/// as one stack. Groups are returned heaviest first, as lists of indices.
pub fn plan(hypers: &[Hyper], threads: usize) -> Vec<Vec<usize>> {
    let work = |g: &[usize]| g.iter().map(|&i| hypers[i].n_epochs).sum::<usize>();
    let mut groups = train::stack_groups(hypers);
    while groups.len() < threads {
        let Some(pos) = (0..groups.len())
            .filter(|&p| groups[p].len() > 1)
            .max_by_key(|&p| work(&groups[p]))
        else {
            break;
        };
        let mut big = groups.swap_remove(pos);
        big.sort_by_key(|&i| std::cmp::Reverse(hypers[i].n_epochs));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in big {
            if work(&a) <= work(&b) {
                a.push(i)
            } else {
                b.push(i)
            }
        }
        a.sort_unstable();
        b.sort_unstable();
        groups.push(a);
        groups.push(b);
    }
    groups.sort_by_key(|g| std::cmp::Reverse(work(g)));
    groups
}

/// Trains every run, in the groups of [`plan`] on `threads` threads, and returns
/// them in order.
pub fn run_all(
    hypers: &[Hyper],
    data: &Prepared,
    threads: usize,
    observers: &ObserverFactory,
) -> Vec<RunOutput> {
    let groups = plan(hypers, threads.max(1));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<RunOutput>>> = Mutex::new(vec![None; hypers.len()]);
    let workers = threads.clamp(1, groups.len().max(1));
    // The groups that start together, each one stack, evaluate together.
    let one_stack = |g: &Vec<usize>| {
        let hs: Vec<Hyper> = g.iter().map(|&i| hypers[i].clone()).collect();
        train::stack_groups(&hs).len() == 1
    };
    let teamed = workers > 1 && groups.iter().take(workers).all(one_stack);
    let team = kernels::Team::new(&data.train, &data.val, if teamed { workers } else { 0 });
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let gi = next.fetch_add(1, Ordering::Relaxed);
                    // Member `gi` of the team, taken first: it leaves when dropped
                    // (after training, or on a panic), and the others stop waiting.
                    let member = (teamed && gi < workers).then(|| team.member(gi));
                    let Some(group) = groups.get(gi) else { break };
                    let hs: Vec<Hyper> = group.iter().map(|&i| hypers[i].clone()).collect();
                    let mut boxes: Vec<_> =
                        group.iter().map(|&i| observers(i, &hypers[i])).collect();
                    let mut obs: Vec<&mut dyn Observer> = boxes
                        .iter_mut()
                        .map(|b| b.as_mut() as &mut dyn Observer)
                        .collect();
                    let outs = run_group_in(&hs, data, member, &mut obs);
                    if let Ok(mut d) = done.lock() {
                        for (&i, out) in group.iter().zip(outs) {
                            d[i] = Some(out);
                        }
                    }
                }
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Everything `reproduce` (or `train`) produced, before it is written.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The record written to `results.json`.
    pub results: Results,
    /// The trained weights, one per run, in the order of `results.runs`.
    pub models: Vec<Model>,
    /// The normalisation used.
    pub normalizer: Normalizer,
    /// The config that produced it.
    pub config: ExperimentConfig,
    /// What the training set was.
    pub fingerprint: DataFingerprint,
}

impl Experiment {
    /// Run `i` as a model file: its weights, the normalisation, the class names,
    /// its hyper-parameters and the data's fingerprint. `None` when there is no run `i`.
    pub fn model_file(&self, i: usize) -> Option<ModelFile> {
        let run = self.results.runs.get(i)?;
        Some(ModelFile {
            model: self.models.get(i)?.clone(),
            normalizer: self.normalizer.clone(),
            meta: ModelMeta::new(
                self.results.setup.class_names.clone(),
                Hyper {
                    name: run.name.clone(),
                    lambda: run.lambda,
                    eta: run.eta,
                    n_epochs: run.n_epochs,
                    n_batch: run.n_batch,
                    seed: run.seed,
                    shuffle: run.shuffle,
                    options: run.options,
                },
                self.config.split.clone(),
                self.fingerprint.clone(),
                Some(run.test_accuracy),
            ),
        })
    }
}

/// Reads the data, checks the gradients and trains every run of `config`.
pub fn run_experiment(
    config: &ExperimentConfig,
    data_path: &Path,
    opts: &ReadOptions,
    threads: usize,
    observers: &ObserverFactory,
) -> Result<Experiment> {
    config.split.check()?;
    // Checked before reading (assuming official batches of 10 000 images), and
    // again against the images the batches hold.
    config.check(config.n_train())?;
    let mut data = prepare(data_path, &config.split, opts)?;
    let hypers = config.check(data.train.len())?;
    data.setup.threads = threads;
    let gradient_check = gradient_checks(&data.train, &GradCheckConfig::default())?;
    let outputs = run_all(&hypers, &data, threads, observers);
    let (runs, models) = outputs.into_iter().map(|o| (o.result, o.model)).unzip();
    Ok(Experiment {
        results: Results {
            onelayer_version: env!("CARGO_PKG_VERSION").to_string(),
            setup: data.setup,
            gradient_check,
            runs,
        },
        models,
        normalizer: data.normalizer,
        config: config.clone(),
        fingerprint: data.fingerprint,
    })
}

/// Writes `results.json`, `config.toml`, and under `dir/<run name>/` each run's
/// `W.npy` and `b.npy` and the normalisation `mean.npy`, `std.npy` (float32), and
/// the whole model as [`MODEL_FILE`] (see [`crate::modelfile`]).
/// The files appear together, or not at all (see [`io::Staging`]). The folders
/// of other runs already in `dir` (listed by an earlier `results.json`) are kept:
/// `results.json` lists the runs of the last command.
pub fn write_outputs(dir: &Path, exp: &Experiment) -> Result<Vec<PathBuf>, OutputError> {
    let mut stage = io::Staging::new(dir)?;
    stage_outputs(&mut stage, exp)?;
    stage.commit()
}

/// The files of one run's folder that [`stage_outputs`] writes.
pub const RUN_FILES: [&str; 5] = ["W.npy", "b.npy", "mean.npy", "std.npy", MODEL_FILE];

/// Checks, before any work, that the outputs of runs named `runs` can go into
/// `dir` (see [`io::check_target`]): no link, no file named like a run folder,
/// no folder named like an output file.
pub fn check_targets<'a>(
    dir: &Path,
    runs: impl IntoIterator<Item = &'a str>,
) -> Result<(), OutputError> {
    for top in ["results.json", "config.toml", "report.md", "report.html"] {
        io::check_target(dir, Path::new(top))?;
    }
    for run in runs {
        for file in RUN_FILES {
            io::check_target(dir, &Path::new(run).join(file))?;
        }
    }
    Ok(())
}

/// Stages the files of [`write_outputs`] into `stage`, for callers that add more.
pub fn stage_outputs(stage: &mut io::Staging, exp: &Experiment) -> Result<(), OutputError> {
    let other = |path: &Path, e: &dyn std::fmt::Display| OutputError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let json = serde_json::to_vec_pretty(&exp.results)
        .map_err(|e| other(&stage.dir().join("results.json"), &e))?;
    let toml = toml::to_string_pretty(&exp.config)
        .map_err(|e| other(&stage.dir().join("config.toml"), &e))?;
    for (i, (run, model)) in exp.results.runs.iter().zip(&exp.models).enumerate() {
        let rd = Path::new(&run.name);
        stage_npy(stage, rd.join("W.npy"), &model.w)?;
        stage_npy(stage, rd.join("b.npy"), &model.b)?;
        stage_npy(stage, rd.join("mean.npy"), &exp.normalizer.mean)?;
        stage_npy(stage, rd.join("std.npy"), &exp.normalizer.std)?;
        if let Some(file) = exp.model_file(i) {
            let rel = rd.join(MODEL_FILE);
            let bytes = file
                .to_bytes(&rel)
                .map_err(|e| other(&stage.dir().join(&rel), &e))?;
            stage.write_bytes(rel, &bytes)?;
        }
    }
    stage.write_bytes("config.toml", toml.as_bytes())?;
    stage.write_bytes("results.json", &json)
}

/// The model file's name in each run folder.
pub const MODEL_FILE: &str = "model.onelayer";

/// Stages an f32 array as a numpy `.npy` file.
pub fn stage_npy<A, D>(
    stage: &mut io::Staging,
    rel: PathBuf,
    a: &ndarray::ArrayBase<A, D>,
) -> Result<(), OutputError>
where
    A: ndarray::Data<Elem = f32>,
    D: ndarray::Dimension,
{
    use ndarray_npy::WriteNpyExt;
    stage.write(rel, |w| a.write_npy(w).map_err(std::io::Error::other))
}

#[cfg(test)]
mod tests {
    use super::plan;
    use crate::config::{ExperimentConfig, Hyper};

    fn report() -> Vec<Hyper> {
        let c = ExperimentConfig::report();
        c.check(c.n_train()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_report_runs_split_into_two_balanced_stacks() {
        let groups = plan(&report(), 2);
        assert_eq!(groups.len(), 2);
        assert!(groups.iter().all(|g| g.len() == 2));
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3]);
        assert_eq!(plan(&report(), 1), [vec![0, 1, 2, 3]]);
    }

    #[test]
    fn runs_with_other_mini_batches_never_share_a_stack() {
        let mut hs = report();
        hs[1].shuffle = true;
        hs[2].n_batch = 50;
        for threads in 1..=4 {
            for g in plan(&hs, threads) {
                let keys: Vec<_> = g.iter().map(|&i| crate::train::batch_key(&hs[i])).collect();
                assert!(keys.windows(2).all(|w| w[0] == w[1]), "{threads}: {g:?}");
            }
        }
        assert_eq!(plan(&hs, 1).len(), 3);
    }

    #[test]
    fn a_gradient_check_over_no_example_is_refused() {
        let empty = crate::data::LabeledImages {
            pixels: vec![],
            labels: vec![],
        };
        let data = crate::normalize::Normalizer::fit(&empty).apply(empty);
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
