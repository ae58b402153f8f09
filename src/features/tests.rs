use ndarray::{Array2, array};
use rand::{RngExt, SeedableRng};

use super::*;
use crate::config::RunConfig;
use crate::data::LabeledImages;
use crate::train::Silent;
use crate::{D, K};

fn hyper(lambda: f64, eta: f64, n_epochs: usize, n_batch: usize, n: usize) -> Hyper {
    let mut run = RunConfig::report(lambda, eta);
    (run.n_epochs, run.n_batch) = (n_epochs, n_batch);
    run.check("", n).unwrap_or_else(|e| panic!("{e}"))
}

/// Random images whose class shifts the brightness of one colour plane.
fn images(n: usize, seed: u64) -> LabeledImages {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..K as u8)).collect();
    let mut pixels = Vec::with_capacity(n * D);
    for &y in &labels {
        for j in 0..D {
            let base = if j / 1024 == usize::from(y) % 3 {
                40 + 12 * y
            } else {
                0
            };
            pixels.push(base.saturating_add(rng.random_range(0..140u8)));
        }
    }
    LabeledImages { pixels, labels }
}

fn as_features(images: &LabeledImages) -> Array2<f32> {
    Array2::from_shape_fn((images.len(), D), |(i, j)| {
        f32::from(images.pixels[i * D + j])
    })
}

fn train_features(hs: &[Hyper], x: Array2<f32>, y: Vec<u8>) -> (Vec<Trained>, Normalizer) {
    let normalizer = Normalizer::fit_features(x.view());
    let train = Features::new(x, y, &normalizer);
    let val = Features::empty(train.dim());
    let mut silent: Vec<Silent> = hs.iter().map(|_| Silent).collect();
    let mut obs: Vec<&mut dyn Observer> =
        silent.iter_mut().map(|o| o as &mut dyn Observer).collect();
    let out = train_runs(hs, &train, &val, &mut obs).unwrap_or_else(|e| panic!("{e}"));
    (out, normalizer)
}

#[test]
fn the_images_bytes_as_floats_train_like_the_images() {
    let (n, n_test) = (600, 300);
    let data = images(n, 1);
    let test = images(n_test, 2);
    let hs = [hyper(0.1, 0.001, 3, 50, n), hyper(0.0, 0.005, 3, 50, n)];
    // The image path: bytes through the kernels.
    let image_norm = Normalizer::fit(&data);
    let image_set = image_norm.apply(data.clone());
    let empty = image_norm.apply(LabeledImages {
        pixels: vec![],
        labels: vec![],
    });
    let mut silent = [Silent, Silent];
    let mut obs: Vec<&mut dyn Observer> =
        silent.iter_mut().map(|o| o as &mut dyn Observer).collect();
    let by_images = train::train_runs(&hs, &image_set, &empty, &mut obs);
    // The float path: the same bytes as f32, through the plain maths.
    let (by_features, feature_norm) = train_features(&hs, as_features(&data), data.labels.clone());
    assert_eq!(by_images.len(), 2);
    assert_eq!(by_features.len(), 2);
    // Features keep their scale: the mean and std are 255 times the images'.
    for (a, b) in feature_norm.mean.iter().zip(&image_norm.mean) {
        assert!((a - 255.0 * b).abs() < 1e-3 * a.abs().max(1.0), "{a} {b}");
    }
    let test_features = as_features(&test);
    for (img, feat) in by_images.iter().zip(&by_features) {
        let w_diff = (&img.model.w - &feat.model.w).mapv(f32::abs);
        let w_max = img.model.w.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            w_diff.iter().all(|&d| d < 1e-3 * w_max),
            "weights differ by up to {} of {w_max}; losses {:?} {:?}",
            w_diff.iter().fold(0f32, |m, &v| m.max(v)),
            img.history.train_loss,
            feat.history.train_loss
        );
        for (a, b) in img.history.train_loss.iter().zip(&feat.history.train_loss) {
            assert!((a - b).abs() < 1e-4, "training losses {a} and {b}");
        }
        let p_img =
            crate::classify::probabilities(&image_file(&img.model, &image_norm), &test.pixels);
        let p_feat = probabilities(&feat.model, &feature_norm, test_features.view());
        let p_diff = (&p_img - &p_feat).mapv(f32::abs);
        assert!(p_diff.iter().all(|&d| d < 1e-4), "{}", p_diff.sum());
        let agree = (p_img.columns().into_iter().zip(p_feat.columns()))
            .filter(|(a, b)| model::argmax(a.view()) == model::argmax(b.view()))
            .count();
        assert!(agree >= n_test - 2, "{agree} of {n_test} predictions agree");
    }
}

fn image_file(m: &Model, normalizer: &Normalizer) -> crate::modelfile::ModelFile {
    let h = hyper(0.0, 0.01, 1, 1, 1);
    crate::modelfile::ModelFile {
        model: m.clone(),
        normalizer: normalizer.clone(),
        meta: crate::modelfile::ModelMeta::new(
            (0..K).map(|k| k.to_string()).collect(),
            h,
            crate::config::SplitConfig::default(),
            crate::modelfile::DataFingerprint::with_md5("", &[], 0, String::new()),
            None,
        ),
    }
}

#[test]
fn a_separable_problem_of_two_features_is_learnt() {
    // Class k sits at angle 2πk/K on a circle of radius 10, with noise of 1.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let n = 1000;
    let labels: Vec<u8> = (0..n).map(|i| (i % K) as u8).collect();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let a = std::f32::consts::TAU * f32::from(labels[i]) / K as f32;
        let c = if j == 0 { a.cos() } else { a.sin() };
        1000.0 + 10.0 * c + rng.random_range(-1.0..1.0f32)
    });
    let (out, norm) = train_features(&[hyper(0.0, 0.5, 30, 10, n)], x.clone(), labels.clone());
    let t = &out[0];
    assert!(t.diverged_at_epoch.is_none());
    assert_eq!(t.model.w.dim(), (K, 2));
    assert!(
        t.history.train_accuracy.last().is_some_and(|&a| a > 0.95),
        "{:?}",
        t.history
    );
    let p = probabilities(&t.model, &norm, x.view());
    let right = (p.columns().into_iter().zip(&labels))
        .filter(|(c, y)| model::argmax(c.view()) == usize::from(**y))
        .count();
    assert!(right > 950, "{right} of {n}");
    // The loss fell as it trained.
    let l = &t.history.train_loss;
    assert!(l.last() < l.first(), "{l:?}");
}

#[test]
fn shuffled_runs_share_a_stack_and_match_runs_alone() {
    let data = images(200, 3);
    let x = as_features(&data);
    let mut hs = vec![hyper(0.0, 0.01, 2, 20, 200), hyper(0.5, 0.02, 2, 20, 200)];
    for h in &mut hs {
        h.shuffle = true;
    }
    let (together, _) = train_features(&hs, x.clone(), data.labels.clone());
    for (h, t) in hs.iter().zip(&together) {
        let (alone, _) = train_features(std::slice::from_ref(h), x.clone(), data.labels.clone());
        assert_eq!(alone[0].model, t.model);
        assert_eq!(alone[0].history, t.history);
    }
    // Shuffling changes the weights.
    let (ordered, _) = train_features(&[hyper(0.0, 0.01, 2, 20, 200)], x, data.labels);
    assert_ne!(ordered[0].model, together[0].model);
}

#[test]
fn bad_features_and_labels_are_refused_by_name() {
    let x = array![[1.0f32, 2.0], [3.0, f32::NAN]];
    let e = check("X", x.view(), None).unwrap_err().to_string();
    assert!(
        e.starts_with("X:") && e.contains("row 1, column 1") && e.contains("NaN"),
        "{e}"
    );
    let e = check("X_val", x.view(), Some((3, "the training features X")))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("X_val:") && e.contains("3") && e.contains("got 2"),
        "{e}"
    );
    let e = check("X", Array2::<f32>::zeros((4, 0)).view(), None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("X:") && e.contains("d ≥ 1"), "{e}");
    let e = check_labels("y", &[0, 1, 2], 2, K).unwrap_err().to_string();
    assert!(
        e.starts_with("y:") && e.contains("expected 2") && e.contains("got 3"),
        "{e}"
    );
    let e = check_labels("y_val", &[0, 10], 2, K)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("y_val:") && e.contains("label 1 is 10"),
        "{e}"
    );
    assert!(check("X", array![[1.0f32], [2.0]].view(), Some((1, "X"))).is_ok());
    assert!(check_labels("y", &[0, 9], 2, K).is_ok());
}

#[test]
fn augmented_runs_and_mismatched_validation_are_refused() {
    let x = array![[1.0f32, 2.0], [3.0, 4.0]];
    let norm = Normalizer::fit_features(x.view());
    let train = Features::new(x, vec![0, 1], &norm);
    let mut h = hyper(0.0, 0.01, 1, 1, 2);
    h.options.augment.flip = 0.5;
    let e = train_runs(&[h], &train, &Features::empty(2), &mut [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("augment"), "{e}");
    let h = hyper(0.0, 0.01, 1, 1, 2);
    let e = train_runs(&[h], &train, &Features::empty(3), &mut [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 2") && e.contains("got 3"), "{e}");
}

#[test]
fn features_are_standardised_by_the_training_statistics() {
    // Columns: an offset of 1e6 with spread 1, and a constant.
    let x = array![[1e6f32 - 1.0, 5.0], [1e6, 5.0], [1e6 + 1.0, 5.0]];
    let norm = Normalizer::fit_features(x.view());
    assert_eq!(norm.mean.to_vec(), [1e6, 5.0]);
    assert!(
        (norm.std[0] - (2.0f32 / 3.0).sqrt()).abs() < 1e-6,
        "{}",
        norm.std
    );
    assert_eq!(norm.std[1], 1.0);
    let f = Features::new(x, vec![0, 1, 2], &norm);
    assert_eq!(f.x.column(1).to_vec(), [0.0; 3]);
    assert!((f.x[[2, 0]] - 1.224_744_9).abs() < 1e-5, "{}", f.x);
}
