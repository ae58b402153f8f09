//! One training run's settings: [`RunConfig`] as written, [`Hyper`] once checked.

use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{ConfigError, DEFAULT_SEED, OptionsConfig, RunOptions, check_f32_nonzero, invalid};

/// One training run's settings, as written by a user: the fields below and,
/// beside them at the same level, those of [`OptionsConfig`]. A field that is
/// neither is named before any missing one (`etta` for `eta`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    /// Name of the run and of its output folder; derived from λ and η when absent.
    pub name: Option<String>,
    /// L2 penalty λ ≥ 0.
    pub lambda: f64,
    /// Learning rate η > 0.
    pub eta: f64,
    /// Number of epochs ≥ 1.
    pub n_epochs: usize,
    /// Mini-batch size, 1 ≤ n_batch ≤ number of training images.
    pub n_batch: usize,
    /// Seed of the weight initialisation and of shuffling (default 42).
    pub seed: u64,
    /// Shuffle the training set before every epoch (off in the report).
    pub shuffle: bool,
    /// The loss, schedule, augmentation and early stopping, written beside the
    /// fields above (all off in the report).
    #[serde(flatten)]
    pub options: OptionsConfig,
}

/// [`RunConfig`]'s own fields, then those of [`OptionsConfig`]: every field a run
/// may have, in the order errors list them.
fn run_fields() -> &'static [&'static str] {
    static FIELDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let options = serde_aux::serde_introspection::serde_introspect::<OptionsConfig>();
        OWN_FIELDS.iter().chain(options).copied().collect()
    })
}

const OWN_FIELDS: &[&str] = &[
    "name", "lambda", "eta", "n_epochs", "n_batch", "seed", "shuffle",
];

impl<'de> Deserialize<'de> for RunConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RunConfig, D::Error> {
        d.deserialize_struct("RunConfig", OWN_FIELDS, RunVisitor)
    }
}

/// Reads a run's table: [`OptionsConfig`]'s own deserializer reads the entries,
/// through [`Entries`], which takes [`RunConfig`]'s own fields aside and refuses
/// any unknown one where it stands, so that errors point at the entry at fault.
struct RunVisitor;

impl<'de> Visitor<'de> for RunVisitor {
    type Value = RunConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // The name errors have always given a run in this message.
        f.write_str("struct RunConfigFile")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RunConfig, A::Error> {
        let mut own = Own::default();
        let options = OptionsConfig::deserialize(Entries {
            map: &mut map,
            own: &mut own,
        })?;
        Ok(RunConfig {
            name: own.name.flatten(),
            lambda: need(own.lambda, "lambda")?,
            eta: need(own.eta, "eta")?,
            n_epochs: need(own.n_epochs, "n_epochs")?,
            n_batch: need(own.n_batch, "n_batch")?,
            seed: own.seed.unwrap_or(DEFAULT_SEED),
            shuffle: own.shuffle.unwrap_or(false),
            options,
        })
    }
}

fn need<T, E: de::Error>(v: Option<T>, field: &'static str) -> Result<T, E> {
    v.ok_or_else(|| E::missing_field(field))
}

/// [`RunConfig`]'s own fields as read so far.
#[derive(Default)]
struct Own {
    name: Option<Option<String>>,
    lambda: Option<f64>,
    eta: Option<f64>,
    n_epochs: Option<usize>,
    n_batch: Option<usize>,
    seed: Option<u64>,
    shuffle: Option<bool>,
}

impl Own {
    /// Reads the value of `key` when it is one of [`OWN_FIELDS`]; false otherwise.
    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        fn set<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
            slot: &mut Option<T>,
            field: &'static str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(de::Error::duplicate_field(field));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }
        match key {
            "name" => set(&mut self.name, "name", map)?,
            "lambda" => set(&mut self.lambda, "lambda", map)?,
            "eta" => set(&mut self.eta, "eta", map)?,
            "n_epochs" => set(&mut self.n_epochs, "n_epochs", map)?,
            "n_batch" => set(&mut self.n_batch, "n_batch", map)?,
            "seed" => set(&mut self.seed, "seed", map)?,
            "shuffle" => set(&mut self.shuffle, "shuffle", map)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A run's entries as [`OptionsConfig`] sees them: its own, the others taken
/// aside into [`Own`] or refused.
struct Entries<'a, A> {
    map: &'a mut A,
    own: &'a mut Own,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key_seed(KnownField)? {
            if !self.own.take(&key, self.map)? {
                return seed.deserialize(key.into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A key of a run's table, refused unless it names a field of [`run_fields`]
/// (inside the format's reading of the key, which then points at it).
struct KnownField;

impl<'de> DeserializeSeed<'de> for KnownField {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let key = String::deserialize(d)?;
        if run_fields().contains(&key.as_str()) {
            Ok(key)
        } else {
            Err(de::Error::unknown_field(&key, run_fields()))
        }
    }
}
/// Checked hyper-parameters of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Name of the run.
    pub name: String,
    /// L2 penalty λ ≥ 0.
    pub lambda: f64,
    /// Learning rate η > 0.
    pub eta: f64,
    /// Number of epochs ≥ 1.
    pub n_epochs: usize,
    /// Mini-batch size ≥ 1.
    pub n_batch: usize,
    /// Seed of the initialisation and of shuffling.
    pub seed: u64,
    /// Whether to shuffle before every epoch.
    pub shuffle: bool,
    /// Loss, schedule, augmentation and early stopping (the report's when absent).
    #[serde(default)]
    pub options: RunOptions,
}

/// The name a run gets from its settings: `lambda0.1_eta0.001`.
pub fn run_name(lambda: f64, eta: f64) -> String {
    format!("lambda{}_eta{}", compact(lambda), compact(eta))
}

/// A number as written (`0.001`), or in exponent form (`1e-12`) when it is long.
fn compact(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() > 10 {
        format!("{v:e}")
    } else {
        plain
    }
}

impl RunConfig {
    /// The report's setting (λ, η) with 40 epochs of mini-batches of 100.
    pub fn report(lambda: f64, eta: f64) -> RunConfig {
        RunConfig {
            name: None,
            lambda,
            eta,
            n_epochs: 40,
            n_batch: 100,
            seed: DEFAULT_SEED,
            shuffle: false,
            options: OptionsConfig::default(),
        }
    }

    /// Validates the settings; `prefix` names the run in errors (`run[1].` or `--`),
    /// `n_train` is the number of training images.
    pub fn check(&self, prefix: &str, n_train: usize) -> Result<Hyper, ConfigError> {
        let field = |f: &str| format!("{prefix}{f}");
        // Training runs in f32: a value must stay finite there too.
        let finite = |v: f64| (v as f32).is_finite();
        if !finite(self.lambda) || self.lambda < 0.0 {
            return Err(invalid(
                &field("lambda"),
                format!("must be a finite number ≥ 0, got {}", self.lambda),
            ));
        }
        if !finite(self.eta) || self.eta <= 0.0 {
            return Err(invalid(
                &field("eta"),
                format!("must be a finite number > 0, got {}", self.eta),
            ));
        }
        for (name, v) in [("lambda", self.lambda), ("eta", self.eta)] {
            check_f32_nonzero(&field(name), v)?;
        }
        self.options.check_precision(prefix)?;
        if self.n_epochs == 0 {
            return Err(invalid(&field("n_epochs"), "must be at least 1, got 0"));
        }
        if self.n_batch == 0 {
            return Err(invalid(&field("n_batch"), "must be at least 1, got 0"));
        }
        if self.n_batch > n_train {
            let reason = format!(
                "is {} but the training set has only {n_train} images",
                self.n_batch
            );
            return Err(invalid(&field("n_batch"), reason));
        }
        let options = self.options.check(prefix, self.eta)?;
        let name = match &self.name {
            Some(n) => check_name(&field("name"), n)?,
            None => run_name(self.lambda, self.eta),
        };
        Ok(Hyper {
            name,
            lambda: self.lambda,
            eta: self.eta,
            n_epochs: self.n_epochs,
            n_batch: self.n_batch,
            seed: self.seed,
            shuffle: self.shuffle,
            options,
        })
    }
}

/// Whether `name` can name a run: a run name becomes a folder name (and part of
/// a URL in the report), so it must be a single plain path component made of
/// ASCII letters, digits, `_`, `-` and `.`, and neither `.` nor `..`.
pub fn is_valid_run_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_name(field: &str, name: &str) -> Result<String, ConfigError> {
    if is_valid_run_name(name) {
        Ok(name.to_string())
    } else {
        Err(invalid(
            field,
            format!("{name:?} must be non-empty and use only letters, digits, '_', '-' and '.'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExperimentConfig;
    use crate::loss::Loss;
    use crate::schedule::Schedule;

    #[test]
    fn report_settings_check() {
        let e = ExperimentConfig::report();
        let runs = e.check(e.n_train()).unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0].name, "lambda0_eta0.1");
        assert_eq!(runs[3].name, "lambda1_eta0.001");
        assert_eq!(run_name(0.0, 1e-12), "lambda0_eta1e-12");
        assert_eq!(run_name(1e300, 1e30), "lambda1e300_eta1e30");
    }

    /// A change to a run.
    type Change = fn(&mut RunConfig);

    /// The report's run (λ = 0, η = 0.1) with `change`, checked against 100
    /// training images.
    fn checked(change: Change) -> Result<Hyper, ConfigError> {
        let mut r = RunConfig::report(0.0, 0.1);
        change(&mut r);
        r.check("--", 100)
    }

    /// A plateau schedule.
    const PLATEAU: Schedule = Schedule::Plateau {
        factor: 10.0,
        patience: 3,
    };

    #[test]
    fn bad_values_name_their_field() {
        // Each case: the change, the start of the error and words it holds.
        let cases: [(Change, &str, &[&str]); 24] = [
            (|r| r.eta = 0.0, "--eta", &[]),
            (|r| r.eta = f64::NAN, "--eta", &[]),
            (|r| r.lambda = -1.0, "--lambda", &[]),
            (|r| r.lambda = 1e39, "--lambda", &[]),
            (|r| r.lambda = f64::INFINITY, "--lambda", &[]),
            // Positive, but 0 or subnormal in f32.
            (|r| r.lambda = 1e-46, "--lambda", &["too small for f32"]),
            (|r| r.eta = 1e-46, "--eta", &["too small for f32"]),
            (|r| r.eta = 1e-40, "--eta", &["too small for f32"]),
            (|r| r.options.gce_q = 1e-50, "--gce_q", &["f32"]),
            (|r| r.n_batch = 0, "--n_batch", &[]),
            (|r| r.n_batch = 101, "--n_batch", &["100"]),
            (|r| r.n_epochs = 0, "--n_epochs", &[]),
            (
                |r| r.options.label_smoothing = 1.0,
                "--label_smoothing",
                &[],
            ),
            (
                |r| r.options.label_smoothing = -0.1,
                "--label_smoothing",
                &[],
            ),
            (
                |r| r.options.label_smoothing = f64::NAN,
                "--label_smoothing",
                &[],
            ),
            (
                |r| (r.options.label_smoothing, r.options.loss) = (0.1, Loss::Hinge),
                "--label_smoothing",
                &[],
            ),
            (|r| r.options.gce_q = 1.5, "--gce_q", &[]),
            (|r| r.options.gce_q = -0.1, "--gce_q", &[]),
            (|r| r.options.gce_q = f64::NAN, "--gce_q", &[]),
            (
                |r| (r.options.gce_q, r.options.loss) = (0.5, Loss::Sigmoid),
                "--gce_q",
                &[],
            ),
            (
                |r| (r.options.gce_q, r.options.label_smoothing) = (0.5, 0.2),
                "--gce_q",
                &[],
            ),
            (
                |r| (r.options.gce_q, r.options.early_stopping) = (0.5, Some(3)),
                "--gce_q",
                &["early stopping"],
            ),
            (
                |r| (r.options.gce_q, r.options.schedule) = (0.5, PLATEAU),
                "--gce_q",
                &["plateau"],
            ),
            (|r| r.name = Some("../escape".into()), "--name", &[]),
        ];
        for (i, (change, start, parts)) in cases.into_iter().enumerate() {
            let e = match checked(change) {
                Err(e) => e.to_string(),
                Ok(h) => panic!("case {i}: {h:?}"),
            };
            let ok = e.starts_with(start) && parts.iter().all(|p| e.contains(p));
            assert!(ok, "case {i}: {e}");
        }
    }

    #[test]
    fn good_values_check_and_step_on_their_loss() {
        assert!(checked(|r| r.eta = 1e-30).is_ok());
        // The loss each run steps on; every one reports the softmax loss.
        let cases: [(Change, Loss); 3] = [
            (
                |r| r.options.label_smoothing = 0.3,
                Loss::SmoothedSoftmax(0.3),
            ),
            (|_| {}, Loss::Softmax),
            (|r| r.options.gce_q = 0.5, Loss::Generalized(0.5)),
        ];
        for (i, (change, loss)) in cases.into_iter().enumerate() {
            let h = checked(change).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(h.options.step_loss(), loss, "case {i}");
            assert_eq!(h.options.reported_loss(), Loss::Softmax, "case {i}");
        }
    }
}
