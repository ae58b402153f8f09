//! The model's maths: golden values from the numpy reference peer, properties on
//! random inputs, the gradient check, and the fast kernels against the reference.

use ndarray::{Array1, Array2, ArrayView2};
use onelayer::gradcheck::{self, GradCheckConfig};
use onelayer::model::{self, Model};
use proptest::prelude::*;

/// The fixed input of `tests/golden/gen_golden.py`: K=3, d=5, n=4.
fn golden_input() -> (Model<f64>, Array2<f64>, Vec<u8>) {
    let (k, d, n) = (3, 5, 4);
    let x = Array2::from_shape_fn((d, n), |(i, j)| (1.0 + i as f64 + 7.0 * j as f64).sin());
    let w = Array2::from_shape_fn((k, d), |(k, i)| {
        0.1 * (2.0 + 3.0 * k as f64 + i as f64).cos()
    });
    let b = Array1::from_shape_fn(k, |k| 0.05 * (k as f64 - 1.0));
    (Model { w, b }, x, vec![2, 0, 1, 2])
}

fn golden() -> serde_json::Value {
    serde_json::from_str(include_str!("golden/golden.json")).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "entry {i}: {x} vs {y}");
    }
}

#[test]
fn golden_values_match_the_numpy_reference() {
    let (m, x, y) = golden_input();
    let g = golden();
    let mut p = model::scores(m.w.view(), m.b.view(), x.view());
    model::softmax_columns(&mut p);
    // numpy ravels row-major: P[k, i] at k*n + i.
    assert_close(
        p.as_standard_layout().as_slice().unwrap(),
        &floats(&g["probs"]),
        1e-14,
    );
    for (lambda, key) in [(0.0, "0.0"), (0.5, "0.5")] {
        let e = &g[key];
        let s = model::scores(m.w.view(), m.b.view(), x.view());
        let loss = model::cross_entropy(s.view(), &y);
        let cost = model::cost(&m, x.view(), &y, lambda);
        assert!((loss - e["loss"].as_f64().unwrap()).abs() < 1e-14);
        assert!((cost - e["cost"].as_f64().unwrap()).abs() < 1e-14);
        assert_eq!(model::accuracy(s.view(), &y), e["acc"].as_f64().unwrap());
        let (gw, gb) = model::gradients(&m, x.view(), &y, lambda);
        assert_close(gw.as_slice().unwrap(), &floats(&e["grad_w"]), 1e-14);
        assert_close(gb.as_slice().unwrap(), &floats(&e["grad_b"]), 1e-14);
    }
}

/// A random problem: X d×n, labels, and a model, from a seed.
fn random_problem(k: usize, d: usize, n: usize, seed: u64) -> (Model<f64>, Array2<f64>, Vec<u8>) {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((d, n), || rng.random_range(-2.0..2.0));
    let labels = (0..n).map(|_| rng.random_range(0..k as u8)).collect();
    let w = Array2::from_shape_simple_fn((k, d), || rng.random_range(-0.5..0.5));
    let b = Array1::from_shape_simple_fn(k, || rng.random_range(-0.5..0.5));
    (Model { w, b }, x, labels)
}

proptest! {
    #[test]
    fn softmax_columns_sum_to_one_and_are_shift_invariant(
        seed in 0u64..1000, shift in -50.0f64..50.0, scale in 0.1f64..100.0,
    ) {
        let (m, x, _) = random_problem(10, 6, 7, seed);
        let s = model::scores(m.w.view(), m.b.view(), x.view()) * scale;
        let mut p = s.clone();
        model::softmax_columns(&mut p);
        for col in p.columns() {
            prop_assert!((col.sum() - 1.0).abs() < 1e-12);
            prop_assert!(col.iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
        let mut q = &s + shift;
        model::softmax_columns(&mut q);
        for (a, b) in p.iter().zip(q.iter()) {
            prop_assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn loss_is_non_negative_and_finite_for_huge_scores(seed in 0u64..1000, scale in 1.0f64..1e6) {
        let (m, x, y) = random_problem(10, 6, 7, seed);
        let s = model::scores(m.w.view(), m.b.view(), x.view()) * scale;
        let l = model::cross_entropy(s.view(), &y);
        prop_assert!(l.is_finite() && l >= 0.0);
    }

    #[test]
    fn l2_term_is_lambda_times_squared_norm_and_grows_with_lambda(
        seed in 0u64..1000, l1 in 0.0f64..10.0, dl in 1e-3f64..10.0,
    ) {
        let (m, x, y) = random_problem(4, 5, 6, seed);
        let norm2: f64 = m.w.iter().map(|v| v * v).sum();
        prop_assert!((model::l2_penalty(m.w.view(), l1) - l1 * norm2).abs() < 1e-12 * (1.0 + l1 * norm2));
        let c1 = model::cost(&m, x.view(), &y, l1);
        let c2 = model::cost(&m, x.view(), &y, l1 + dl);
        prop_assert!(c2 > c1);
        prop_assert!((c2 - c1 - dl * norm2).abs() < 1e-9);
    }
}

fn check_random(
    lambda: f64,
    analytic: &gradcheck::GradientFn,
) -> onelayer::results::GradCheckReport {
    let (_, x, y) = random_problem(10, 20, 15, 7);
    let cfg = GradCheckConfig {
        dims: 20,
        examples: 15,
        ..GradCheckConfig::default()
    };
    gradcheck::check_with(analytic, x.view(), &y, 10, lambda, &cfg)
}

#[test]
fn gradient_check_passes_with_and_without_l2() {
    for lambda in [0.0, 0.1, 1.0] {
        let r = check_random(lambda, &|m, x, y, l| model::gradients(m, x, y, l));
        assert!(r.max_rel() < 1e-6, "λ={lambda}: {r:?}");
        assert_eq!((r.dims, r.examples), (20, 15));
    }
}

#[test]
fn gradient_check_fails_on_wrong_gradients() {
    // The report's formula without 1/n on the weight term.
    let no_mean = |m: &Model<f64>, x: ArrayView2<f64>, y: &[u8], l: f64| {
        let (gw, gb) = model::gradients(m, x, y, l);
        let n = y.len() as f64;
        (
            (gw - &m.w.mapv(|v| 2.0 * l * v)) * n + &m.w.mapv(|v| 2.0 * l * v),
            gb,
        )
    };
    assert!(check_random(0.0, &no_mean).max_rel_w > 0.1);
    // A forgotten L2 term.
    let no_l2 =
        |m: &Model<f64>, x: ArrayView2<f64>, y: &[u8], _l: f64| model::gradients(m, x, y, 0.0);
    let r = check_random(1.0, &no_l2);
    assert!(r.max_rel_w > 1e-3 && r.max_rel_b < 1e-6, "{r:?}");
    // A bias gradient off by a small amount.
    let off_b = |m: &Model<f64>, x: ArrayView2<f64>, y: &[u8], l: f64| {
        let (gw, gb) = model::gradients(m, x, y, l);
        (gw, gb + 1e-4)
    };
    assert!(check_random(0.0, &off_b).max_rel_b > 1e-4);
}

#[test]
fn initialisation_is_seeded_and_has_the_reports_scale() {
    let a = Model::init(10, 3072, 42);
    assert_eq!(a, Model::init(10, 3072, 42));
    assert_ne!(a.w, Model::init(10, 3072, 43).w);
    let n = a.w.len() as f64;
    let mean = a.w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (a.w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 5e-4 && (std - 0.01).abs() < 5e-4,
        "mean {mean} std {std}"
    );
    assert!(a.b.iter().all(|&v| v == 0.0));
}
