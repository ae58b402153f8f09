use super::*;
use crate::config::Validation;
use crate::data::LabeledImages;
use ndarray::{Array1, Array2};

/// A small model with distinct values everywhere, so a swapped member shows.
fn sample(k: usize) -> ModelFile {
    ModelFile {
        model: Model {
            w: Array2::from_shape_fn((k, D), |(i, j)| (i * D + j) as f32 * 1e-4 - 0.5),
            b: Array1::from_shape_fn(k, |i| i as f32 - 1.5),
        },
        normalizer: Normalizer {
            mean: Array1::from_shape_fn(D, |j| j as f32 / D as f32),
            std: Array1::from_shape_fn(D, |j| 0.1 + j as f32 / (2 * D) as f32),
        },
        meta: ModelMeta {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            onelayer_version: "0.0.0-test".into(),
            class_names: (0..k).map(|i| format!("class{i}")).collect(),
            input: INPUT_DESCRIPTION.into(),
            run: Hyper {
                name: "r".into(),
                lambda: 0.1,
                eta: 0.001,
                n_epochs: 3,
                n_batch: 10,
                seed: 7,
                shuffle: false,
                options: Default::default(),
            },
            split: SplitConfig {
                train_batches: vec![1],
                validation: Validation::HoldOut(10),
            },
            data: DataFingerprint {
                source: "test".into(),
                train_batches: vec!["data_batch_1".into()],
                n_train: 90,
                train_records_md5: "0".repeat(32),
            },
            test_accuracy: Some(0.25),
            input_kind: InputKind::Images,
        },
    }
}

fn saved(dir: &tempfile::TempDir, file: &ModelFile) -> PathBuf {
    let path = dir.path().join("m.onelayer");
    file.save(&path).unwrap();
    path
}

#[test]
fn save_then_load_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample(4);
    let back = ModelFile::load(&saved(&dir, &m)).unwrap();
    assert_eq!(back, m);
}

#[test]
fn every_cut_of_the_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(saved(&dir, &sample(3))).unwrap();
    let cut = dir.path().join("cut.onelayer");
    for len in (0..bytes.len()).step_by(997).chain([bytes.len() - 1]) {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let e = ModelFile::load(&cut).unwrap_err();
        assert!(e.to_string().contains("cut.onelayer"), "{len}: {e}");
        if len > 4 {
            assert!(
                matches!(e, ModelFileError::Truncated { .. }),
                "cut at {len}: {e}"
            );
        }
    }
}

/// Rewrites `m`'s file with `meta.json` replaced by `meta`.
fn with_meta(dir: &tempfile::TempDir, m: &ModelFile, meta: serde_json::Value) -> PathBuf {
    let mut members = vec![("meta.json", serde_json::to_vec(&meta).unwrap())];
    members.push(("W.npy", npy_bytes(&m.model.w).unwrap()));
    members.push(("b.npy", npy_bytes(&m.model.b).unwrap()));
    members.push(("mean.npy", npy_bytes(&m.normalizer.mean).unwrap()));
    members.push(("std.npy", npy_bytes(&m.normalizer.std).unwrap()));
    let path = dir.path().join("edited.onelayer");
    std::fs::write(&path, zip_members(&members).unwrap()).unwrap();
    path
}

#[test]
fn another_version_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample(3);
    let mut meta = serde_json::to_value(&m.meta).unwrap();
    meta["version"] = 2.into();
    let e = ModelFile::load(&with_meta(&dir, &m, meta)).unwrap_err();
    assert!(matches!(e, ModelFileError::UnsupportedVersion { ref found, .. } if found == "2"));
    assert!(e.to_string().contains("version 2"), "{e}");
}

#[test]
fn files_that_are_not_models_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    assert!(matches!(
        ModelFile::load(&text).unwrap_err(),
        ModelFileError::NotAModel { .. }
    ));
    let m = sample(3);
    let other = with_meta(&dir, &m, serde_json::json!({"format": "something-else"}));
    assert!(matches!(
        ModelFile::load(&other).unwrap_err(),
        ModelFileError::NotAModel { .. }
    ));
    let plain_npz = dir.path().join("plain.npz");
    let w = npy_bytes(&m.model.w).unwrap();
    std::fs::write(&plain_npz, zip_members(&[("W.npy", w)]).unwrap()).unwrap();
    let e = ModelFile::load(&plain_npz).unwrap_err();
    assert!(e.to_string().contains("without meta.json"), "{e}");
}

#[test]
fn shapes_are_checked_against_the_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample(3);
    let mut meta = serde_json::to_value(&m.meta).unwrap();
    meta["class_names"] = serde_json::json!(["a", "b", "c", "d"]);
    let e = ModelFile::load(&with_meta(&dir, &m, meta)).unwrap_err();
    assert!(
        matches!(e, ModelFileError::BadMember { ref member, .. } if member == "W.npy"),
        "{e}"
    );
    assert!(e.to_string().contains("[4, 3072]"), "{e}");
}

#[test]
fn non_finite_values_are_refused_on_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(3);
    m.normalizer.mean[17] = f32::NAN;
    let path = dir.path().join("nan.onelayer");
    let e = m.save(&path).unwrap_err();
    assert!(
        matches!(e, ModelFileError::NonFinite { index: 17, .. }),
        "{e}"
    );
    assert!(!path.exists());
    // Written behind the checks' back, it is refused on load too.
    let meta = serde_json::to_value(&m.meta).unwrap();
    let e = ModelFile::load(&with_meta(&dir, &m, meta)).unwrap_err();
    assert!(
        matches!(e, ModelFileError::NonFinite { ref member, index: 17, .. } if member == "mean.npy"),
        "{e}"
    );
}

#[test]
fn records_md5_equals_the_md5_of_the_binary_records() {
    use md5::Digest;
    let images = LabeledImages {
        pixels: (0..2 * D).map(|i| (i % 256) as u8).collect(),
        labels: vec![3, 9],
    };
    let mut file = vec![3u8];
    file.extend_from_slice(&images.pixels[..D]);
    file.push(9);
    file.extend_from_slice(&images.pixels[D..]);
    assert_eq!(records_md5(&images), hex(&md5::Md5::digest(&file)));
}

#[test]
fn a_string_version_is_named_as_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let m = sample(3);
    let mut meta = serde_json::to_value(&m.meta).unwrap();
    meta["version"] = "1".into();
    let e = ModelFile::load(&with_meta(&dir, &m, meta))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("edited.onelayer") && e.contains("the string \"1\"") && e.contains("a number"),
        "{e}"
    );
}

#[test]
fn class_names_must_be_named_and_not_too_many() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = sample(3);
    m.meta.class_names[1] = " ".into();
    let e = m
        .save(&dir.path().join("x.onelayer"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("class name 1 is empty"), "{e}");
    let m = sample(MAX_CLASSES + 1);
    let e = m
        .save(&dir.path().join("x.onelayer"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("101 class names") && e.contains("100"), "{e}");
    let mut meta = serde_json::to_value(&m.meta).unwrap();
    meta["class_names"] = (0..1000).map(|i| format!("c{i}")).collect();
    let e = ModelFile::load(&with_meta(&dir, &sample(3), meta))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1000 class names") && e.contains("meta.json"),
        "{e}"
    );
    sample(MAX_CLASSES)
        .save(&dir.path().join("ok.onelayer"))
        .unwrap();
}

/// `sample(k)` as a model of `d` float features.
fn features_sample(k: usize, d: usize) -> ModelFile {
    let mut f = sample(k);
    f.model.w = Array2::from_shape_fn((k, d), |(i, j)| (i * d + j) as f32 * 0.5 - 3.0);
    f.normalizer = Normalizer {
        mean: Array1::from_shape_fn(d, |j| j as f32 * 100.0),
        std: Array1::from_shape_fn(d, |j| 1.0 + j as f32),
    };
    f.meta = f.meta.for_features(d);
    f
}

#[test]
fn a_model_of_features_round_trips_with_its_columns() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for d in [1, 5, 4000] {
        let path = dir.path().join(format!("f{d}.onelayer"));
        let f = features_sample(3, d);
        f.save(&path).unwrap_or_else(|e| panic!("{e}"));
        let back = ModelFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, f);
        assert_eq!((back.dim(), back.model.w.dim()), (d, (3, d)));
        assert_eq!(back.meta.input_kind, InputKind::Features);
        let e = back.require_images(&path).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{d} float features")) && e.contains(&path.display().to_string()),
            "{e}"
        );
    }
    // An image model's meta.json does not mention the kind, as before.
    let json = serde_json::to_string(&sample(2).meta).unwrap_or_else(|e| panic!("{e}"));
    assert!(!json.contains("input_kind"), "{json}");
    assert!(sample(2).require_images(Path::new("m")).is_ok());
}

#[test]
fn a_model_of_features_with_inconsistent_shapes_is_refused() {
    let path = Path::new("probe.onelayer");
    let mut f = features_sample(3, 5);
    f.normalizer.std = Array1::ones(4);
    let e = f.check(path).unwrap_err().to_string();
    assert!(
        e.contains("std.npy") && e.contains("[5]") && e.contains("[4]"),
        "{e}"
    );
    let mut f = features_sample(3, 5);
    f.model.w = Array2::zeros((3, 0));
    let e = f.check(path).unwrap_err().to_string();
    assert!(e.contains("W.npy") && e.contains("0 features"), "{e}");
    // Without the kind, five columns are not an image model.
    let mut f = features_sample(3, 5);
    f.meta.input_kind = InputKind::Images;
    let e = f.check(path).unwrap_err().to_string();
    assert!(e.contains("W.npy") && e.contains("3072"), "{e}");
}
