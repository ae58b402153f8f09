//! How a file spells a [`RunConfig`]: its own fields and, beside them, those of
//! [`OptionsConfig`], read by the options' own deserializer so that adding an
//! option touches no list here. (serde's `flatten` would lose the place of a
//! wrong value in the file and could not refuse an unknown field.)

use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

use super::{DEFAULT_SEED, OptionsConfig, RunConfig};

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
        d.deserialize_struct("RunConfig", run_fields(), RunVisitor)
    }
}

/// Reads a run's table: [`OptionsConfig`]'s own deserializer reads the entries,
/// through [`Entries`], which takes [`RunConfig`]'s own fields aside and refuses
/// any unknown one where it stands, so that errors point at the entry at fault.
struct RunVisitor;

impl<'de> Visitor<'de> for RunVisitor {
    type Value = RunConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a run: a table with lambda, eta, n_epochs and n_batch")
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
