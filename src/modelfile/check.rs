//! What a model file must be before it is written or used: its classes, the
//! shapes of its arrays (`W: K×d`, `b: K`, `mean, std: d`) and their values.

use std::path::Path;

use super::{MAX_CLASSES, ModelFile, ModelFileError};

impl ModelFile {
    /// Checks shapes and finiteness; `path` names the file in errors.
    pub fn check(&self, path: &Path) -> Result<(), ModelFileError> {
        self.check_classes(path)?;
        self.check_shapes(path)?;
        self.check_values(path)
    }

    /// A [`ModelFileError::BadMember`] of `member` in the file at `path`.
    fn bad(path: &Path, member: &str, reason: String) -> ModelFileError {
        ModelFileError::BadMember {
            path: path.to_path_buf(),
            member: member.to_string(),
            reason,
        }
    }

    /// `meta.json`'s class names: between 2 and [`MAX_CLASSES`], none empty.
    fn check_classes(&self, path: &Path) -> Result<(), ModelFileError> {
        let k = self.k();
        let bad = |reason| Self::bad(path, "meta.json", reason);
        if k < 2 {
            return Err(bad(format!("expected ≥ 2 class names, found {k}")));
        }
        if k > MAX_CLASSES {
            return Err(bad(format!(
                "{k} class names, more than the {MAX_CLASSES} classes onelayer supports"
            )));
        }
        if let Some(i) = self
            .meta
            .class_names
            .iter()
            .position(|n| n.trim().is_empty())
        {
            return Err(bad(format!(
                "class name {i} is empty; every class needs a name"
            )));
        }
        Ok(())
    }

    /// The arrays' shapes: `W: K×d` with `d ≥ 1`, `b: K`, `mean, std: d`.
    fn check_shapes(&self, path: &Path) -> Result<(), ModelFileError> {
        let (k, d) = (self.k(), self.dim());
        if d == 0 {
            return Err(Self::bad(
                path,
                "W.npy",
                "a model of 0 features; expected at least 1 column".to_string(),
            ));
        }
        let shapes: [(&str, Vec<usize>, Vec<usize>); 4] = [
            ("W.npy", vec![k, d], self.model.w.shape().to_vec()),
            ("b.npy", vec![k], self.model.b.shape().to_vec()),
            ("mean.npy", vec![d], self.normalizer.mean.shape().to_vec()),
            ("std.npy", vec![d], self.normalizer.std.shape().to_vec()),
        ];
        for (member, expected, found) in shapes {
            if expected != found {
                return Err(Self::bad(
                    path,
                    member,
                    format!("expected shape {expected:?} for {k} classes, found {found:?}"),
                ));
            }
        }
        Ok(())
    }

    /// The arrays' values: all finite, and every std `> 0`.
    fn check_values(&self, path: &Path) -> Result<(), ModelFileError> {
        let arrays = [
            ("W.npy", self.model.w.as_slice_memory_order()),
            ("b.npy", self.model.b.as_slice_memory_order()),
            ("mean.npy", self.normalizer.mean.as_slice_memory_order()),
            ("std.npy", self.normalizer.std.as_slice_memory_order()),
        ];
        for (member, values) in arrays {
            let values = values.unwrap_or(&[]);
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(ModelFileError::NonFinite {
                    path: path.to_path_buf(),
                    member: member.to_string(),
                    index,
                    value,
                });
            }
        }
        if let Some(i) = self.normalizer.std.iter().position(|&s| s <= 0.0) {
            return Err(Self::bad(
                path,
                "std.npy",
                format!("value {i} is ≤ 0, expected > 0"),
            ));
        }
        Ok(())
    }
}
