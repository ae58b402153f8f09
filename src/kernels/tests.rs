//! The fast kernels against the plain reference maths of [`crate::model`], in f64,
//! on random inputs, on every instruction set this CPU has.

use ndarray::{Array1, Array2};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal, StandardNormal};

use super::{Images, Isa, Stack, Workspace, naive};
use crate::loss::{self, Loss};
use crate::model::{self, Model};
use crate::normalize::Affine;

fn isas() -> Vec<Isa> {
    let best = Isa::detect();
    let mut v = vec![best, Isa::portable()];
    v.extend(best.has_tiles().then(|| best.without_tiles()));
    v.extend(Isa::avx2());
    v.extend(Isa::neon().filter(|i| i.name() != best.name()));
    v
}

/// A random model (`W` entries of std `w_std`, `b` of std 0.1), `n` random images
/// `n×d` of bytes with labels in `0..k`, and a normalisation like CIFAR-10's
/// (`mean ≈ 0.45`, `std ≈ 0.25`, varying by column).
fn random(
    k: usize,
    d: usize,
    n: usize,
    w_std: f64,
    seed: u64,
) -> (Model, Vec<u8>, Vec<u8>, Affine) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let wn = Normal::new(0.0, w_std).unwrap_or_else(|_| unreachable!());
    let model = Model {
        w: Array2::from_shape_simple_fn((k, d), || wn.sample(&mut rng) as f32),
        b: Array1::from_shape_simple_fn(k, || {
            let v: f32 = StandardNormal.sample(&mut rng);
            0.1 * v
        }),
    };
    let x = (0..n * d).map(|_| rng.random::<u8>()).collect();
    let y = (0..n)
        .map(|i| ((i * 7 + seed as usize) % k) as u8)
        .collect();
    let (mean, std): (Vec<f32>, Vec<f32>) = (0..d)
        .map(|j| (0.4 + 0.1 * (j % 3) as f32, 0.2 + 0.01 * (j % 11) as f32))
        .unzip();
    let affine = Affine {
        a: std.iter().map(|s| 1.0 / (255.0 * s)).collect(),
        beta: mean.iter().zip(&std).map(|(m, s)| m / s).collect(),
    };
    (model, x, y, affine)
}

/// The normalised images `X̂ = a ⊙ X − β` as the report's `X: d×n`, in f64.
fn normalised(x: &[u8], affine: &Affine) -> Array2<f64> {
    let d = affine.a.len();
    Array2::from_shape_fn((d, x.len() / d), |(j, i)| {
        f64::from(affine.a[j]) * f64::from(x[i * d + j]) - f64::from(affine.beta[j])
    })
}

fn max_abs_diff(a: impl IntoIterator<Item = f64>, b: impl IntoIterator<Item = f64>) -> f64 {
    a.into_iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

const LOSSES: [Loss; 4] = [
    Loss::Softmax,
    Loss::Sigmoid,
    Loss::Hinge,
    Loss::Generalized(0.5),
];

#[test]
fn one_step_matches_the_reference_gradients() {
    // d = 3072 as in CIFAR-10, and 100 with a tail that is no multiple of any width.
    for ((d, n), kind) in [(3072, 100), (100, 37)]
        .into_iter()
        .flat_map(|dn| LOSSES.map(|l| (dn, l)))
    {
        let (model, x, y, affine) = random(10, d, n, 0.01, d as u64);
        let (eta, lambda) = (0.05f64, 0.3f64);
        let m64 = model.to_f64();
        let x64 = normalised(&x, &affine);
        let (gw, gb) = loss::gradients(kind, &m64, x64.view(), &y, lambda);
        let want_w = &m64.w - &(gw * eta);
        let want_b = &m64.b - &(gb * eta);
        for isa in isas() {
            let mut stack = Stack::new(std::slice::from_ref(&model));
            let mut ws = Workspace::with_isa(isa);
            let xs = Images::new(&x, &affine);
            ws.sgd_step(&mut stack, xs, &y, &[eta as f32], &[lambda as f32], &[kind]);
            let got = stack.model(0);
            let dw = max_abs_diff(got.w.iter().map(|&v| f64::from(v)), want_w.iter().copied());
            let db = max_abs_diff(got.b.iter().map(|&v| f64::from(v)), want_b.iter().copied());
            // The step moves W by η·|∇| ~ 1e-2; f32 keeps ~7 digits of W ~ 1e-2.
            assert!(
                dw < 2e-7 && db < 2e-7,
                "{} {kind} d={d}: |ΔW| {dw:e}, |Δb| {db:e}",
                isa.name()
            );
        }
    }
}

#[test]
fn evaluation_matches_the_reference_loss_cost_and_accuracy() {
    for ((d, n), kind) in [(3072, 1000), (100, 301)]
        .into_iter()
        .flat_map(|dn| LOSSES.map(|l| (dn, l)))
    {
        // Large weights, so that scores spread and the accuracy is far from chance.
        let (model, x, y, affine) = random(10, d, n, 0.05, 7 + d as u64);
        let lambda = 0.25;
        let m64 = model.to_f64();
        let x64 = normalised(&x, &affine);
        let s = model::scores(m64.w.view(), m64.b.view(), x64.view());
        let loss = kind.mean_loss(s.view(), &y);
        let cost = loss::cost(kind, &m64, x64.view(), &y, lambda);
        let accuracy = model::accuracy(s.view(), &y);
        for isa in isas() {
            let stack = Stack::new(std::slice::from_ref(&model));
            let xs = Images::new(&x, &affine);
            let got = Workspace::with_isa(isa).evaluate(&stack, xs, &y, &[lambda], &[kind]);
            let tol = 1e-5 * loss.abs().max(1.0);
            assert!(
                (got[0].loss - loss).abs() < tol,
                "{} {kind}: loss {} vs {loss}",
                isa.name(),
                got[0].loss
            );
            assert!(
                (got[0].cost - cost).abs() < tol,
                "{} {kind}: cost {} vs {cost}",
                isa.name(),
                got[0].cost
            );
            assert_eq!(got[0].accuracy, accuracy, "{}", isa.name());
        }
    }
}

#[test]
fn stacked_runs_equal_runs_one_by_one() {
    let (m0, x, y, affine) = random(10, 3072, 100, 0.01, 1);
    let (m1, ..) = random(10, 3072, 1, 0.02, 2);
    let (m2, ..) = random(10, 3072, 1, 0.05, 3);
    let models = [m0, m1, m2];
    let (eta, lambda) = ([0.1f32, 0.001, 0.01], [0.0f32, 1.0, 0.1]);
    let losses = [Loss::Softmax, Loss::Sigmoid, Loss::Hinge];
    let xs = Images::new(&x, &affine);
    for isa in isas() {
        let mut ws = Workspace::with_isa(isa);
        let mut stack = Stack::new(&models);
        for _ in 0..3 {
            ws.sgd_step(&mut stack, xs, &y, &eta, &lambda, &losses);
        }
        let lam64: Vec<f64> = lambda.iter().map(|&l| f64::from(l)).collect();
        let together = ws.evaluate(&stack, xs, &y, &lam64, &losses);
        for r in 0..3 {
            let mut alone = Stack::new(std::slice::from_ref(&models[r]));
            for _ in 0..3 {
                ws.sgd_step(
                    &mut alone,
                    xs,
                    &y,
                    &eta[r..=r],
                    &lambda[r..=r],
                    &losses[r..=r],
                );
            }
            assert_eq!(alone.model(0), stack.model(r), "{} run {r}", isa.name());
            let m = ws.evaluate(&alone, xs, &y, &lam64[r..=r], &losses[r..=r]);
            assert_eq!(m[0], together[r], "{} run {r}", isa.name());
        }
    }
}

#[test]
fn instruction_sets_agree_to_rounding() {
    let (model, x, y, affine) = random(10, 3072, 100, 0.01, 5);
    let xs = Images::new(&x, &affine);
    let results: Vec<Model> = isas()
        .into_iter()
        .map(|isa| {
            let mut stack = Stack::new(std::slice::from_ref(&model));
            let mut ws = Workspace::with_isa(isa);
            for _ in 0..5 {
                ws.sgd_step(&mut stack, xs, &y, &[0.01], &[0.1], &[Loss::Softmax]);
            }
            stack.model(0)
        })
        .collect();
    for r in &results[1..] {
        let d = max_abs_diff(
            r.w.iter().map(|&v| f64::from(v)),
            results[0].w.iter().map(|&v| f64::from(v)),
        );
        assert!(d < 1e-6, "{d:e}");
    }
}

#[test]
fn removing_a_run_keeps_the_others() {
    let models: Vec<Model> = (0..3).map(|s| random(10, 20, 1, 0.1, s).0).collect();
    let mut stack = Stack::new(&models);
    stack.remove(1);
    assert_eq!(stack.runs(), 2);
    assert_eq!(stack.model(0), models[0]);
    assert_eq!(stack.model(1), models[2]);
}

#[test]
fn panels_hold_the_images_transposed() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
    for d in [3072, 200, 100, 64, 16, 7] {
        for rows in [16, 15, 5, 1] {
            let x: Vec<u8> = (0..rows * d).map(|_| rng.random::<u8>()).collect();
            for isa in isas() {
                let mut panel = vec![0xAB; d * super::panel::GROUP];
                super::panel::transpose(isa, &x, d, rows, &mut panel);
                for j in 0..d {
                    for c in 0..super::panel::GROUP {
                        let want = if c < rows { x[c * d + j] } else { 0 };
                        assert_eq!(
                            panel[j * 16 + c],
                            want,
                            "{} d={d} rows={rows} j={j} c={c}",
                            isa.name()
                        );
                    }
                }
            }
        }
    }
}

/// The softmax terms come from the tiles for runs that fill whole tiles and from
/// the scalar code for the others: a run's loss is the same either way.
#[test]
fn evaluation_is_the_same_stacked_or_alone_for_any_class_count() {
    for k in [2, 3, 5, 10, 20] {
        let models: Vec<Model> = (0..3).map(|r| random(k, 300, 1, 0.05, 40 + r).0).collect();
        let (_, x, y, affine) = random(k, 300, 37, 0.05, 7);
        let xs = Images::new(&x, &affine);
        let losses = [Loss::Softmax; 3];
        for isa in isas() {
            let mut ws = Workspace::with_isa(isa);
            let together = ws.evaluate(&Stack::new(&models), xs, &y, &[0.1; 3], &losses);
            for (r, m) in models.iter().enumerate() {
                let alone = ws.evaluate(
                    &Stack::new(std::slice::from_ref(m)),
                    xs,
                    &y,
                    &[0.1],
                    &losses[..1],
                );
                assert_eq!(alone[0], together[r], "{} k={k} run {r}", isa.name());
            }
        }
    }
}

/// The portable kernels are the plain loops of `naive` tiled and vectorised: the
/// same values bit for bit, for steps and evaluations of stacked runs under every
/// loss, with `d` a multiple of every width and not.
#[test]
fn portable_kernels_give_the_naive_values_bit_for_bit() {
    for (d, n) in [(3072, 77), (100, 37)] {
        let models: Vec<Model> = (0..4).map(|r| random(10, d, 1, 0.02, 20 + r).0).collect();
        let (_, x, y, affine) = random(10, d, n, 0.02, 9);
        let xs = Images::new(&x, &affine);
        let (eta, lambda) = ([0.1f32, 0.01, 0.05, 0.02], [0.0f32, 0.5, 0.1, 1.0]);
        let mut ws = Workspace::with_isa(Isa::portable());
        let (mut fast, mut plain) = (Stack::new(&models), Stack::new(&models));
        for step in 0..3 {
            ws.sgd_step(&mut fast, xs, &y, &eta, &lambda, &LOSSES);
            naive::sgd_step(&mut plain, xs, &y, &eta, &lambda, &LOSSES);
            assert_eq!(fast, plain, "d={d} step {step}");
        }
        let lam64 = lambda.map(f64::from);
        let got = ws.evaluate(&fast, xs, &y, &lam64, &LOSSES);
        let want = naive::evaluate(&plain, xs, &y, &lam64, &LOSSES);
        assert_eq!(got, want, "d={d}");
    }
}

/// The folded weights, four rows at a time and with `W ⊙ a` in the same pass, are
/// the plain row-by-row [`super::shifts`] and products, bit for bit.
#[test]
fn folded_weights_are_the_plain_ones_bit_for_bit() {
    for isa in isas() {
        for (m, d) in [(1, 7), (3, 8), (4, 17), (5, 100), (9, 3), (40, 3072)] {
            let (model, _, _, affine) = random(m, d, 0, 0.5, m as u64 + 31);
            let (w, b) = (model.w.as_slice().unwrap_or_default(), model.b.to_vec());
            let rows = (w, d, &b[..], &affine.beta[..]);
            let mut want = Vec::new();
            super::shifts(rows, &mut want);
            let (mut got, mut alone) = (Vec::new(), Vec::new());
            let mut w_a = vec![f32::NAN; m * super::padded(d)];
            isa.fold(rows, Some((&affine.a, &mut w_a)), &mut got);
            isa.fold(rows, None, &mut alone);
            let name = isa.name();
            assert_eq!(got, want, "{name}: shifts, m={m} d={d}");
            assert_eq!(alone, want, "{name}: shifts alone, m={m} d={d}");
            for (r, row) in w.chunks_exact(d).enumerate() {
                let at = r * super::padded(d);
                let plain: Vec<f32> = row.iter().zip(&affine.a).map(|(w, a)| w * a).collect();
                assert_eq!(
                    w_a[at..at + d],
                    plain[..],
                    "{name}: W ⊙ a row {r}, m={m} d={d}"
                );
            }
        }
    }
}

/// The instruction sets that fuse their multiply-adds.
fn fused() -> Vec<Isa> {
    isas()
        .into_iter()
        .filter(|i| matches!(i.name(), "avx2" | "avx512" | "neon"))
        .collect()
}

/// The rows after a first tile of 5 go in tiles of 6 only where the rest still
/// makes whole tiles of 5.
#[test]
fn wide_tiles_leave_whole_tiles() {
    use super::panel::wide_tiles;
    let cases = [
        (35, 5),
        (15, 0),
        (5, 0),
        (12, 2),
        (17, 2),
        (3, 0),
        (0, 0),
        (75, 10),
    ];
    for (rest, wide) in cases {
        assert_eq!(wide_tiles(rest, 5, 6), wide, "rest={rest}");
    }
    for rest in 0..100 {
        let t = wide_tiles(rest, 5, 6);
        let whole = |t: usize| (rest - 6 * t).is_multiple_of(5);
        assert!(6 * t <= rest && (t == 0 || whole(t)), "rest={rest}");
        assert!(
            (t + 1..=rest / 6).all(|u| !whole(u)),
            "rest={rest}: more fit"
        );
    }
}

/// With fused multiply-adds, each score is its bias plus one chain of fused
/// multiply-adds over the pixels in order, `acc ← fma(w, x, acc)` from 0, in f32:
/// bit for bit, for any number of rows (tiles, bands of rows and their
/// remainders), of pixels (blocks of pixels and a tail) and of images in a panel.
#[test]
fn fused_scores_are_one_chain_over_the_pixels() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(12);
    for (m, d, n) in [
        (10, 3072, 37),
        (20, 3072, 100),
        (40, 3072, 16),
        (45, 300, 21),
        (30, 3072, 20),
        (17, 200, 16),
        (15, 130, 17),
        (12, 64, 5),
        (10, 40, 3),
        (7, 7, 3),
        (1, 130, 9),
    ] {
        let ld = super::padded(d);
        let w: Vec<f32> = (0..m * ld).map(|_| rng.random::<f32>() - 0.5).collect();
        let b: Vec<f32> = (0..m).map(|_| rng.random::<f32>()).collect();
        let x: Vec<u8> = (0..n * d).map(|_| rng.random::<u8>()).collect();
        let mut want = vec![0f32; n * m];
        for i in 0..n {
            for r in 0..m {
                let mut acc = 0f32;
                for j in 0..d {
                    acc = w[r * ld + j].mul_add(f32::from(x[i * d + j]), acc);
                }
                want[i * m + r] = acc + b[r];
            }
        }
        for isa in fused() {
            let wb = super::panel::Weights { w: &w, ld, b: &b };
            let mut s = vec![f32::NAN; n * m];
            super::panel_scores(isa, &mut Vec::new(), wb, (&x, d), &mut s, None);
            let same = s.iter().zip(&want).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "{} m={m} d={d} n={n}", isa.name());
        }
    }
}

/// With fused multiply-adds, each sum of the update is one chain of fused
/// multiply-adds over the images in order, and the new weight follows from it by
/// the fused operations of `update.rs`, bit for bit (in the columns of whole
/// vectors: the last `d mod lanes` go unfused).
#[test]
fn fused_update_is_one_chain_over_the_images() {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(13);
    for (m, d, n) in [
        (10, 3072, 100),
        (40, 200, 130),
        (45, 48, 260),
        (12, 32, 256),
        (45, 72, 7),
        (15, 100, 37),
        (17, 48, 20),
        (3, 40, 9),
        (3, 8, 1),
        (5, 20, 3),
    ] {
        let g: Vec<f32> = (0..n * m).map(|_| rng.random::<f32>() - 0.5).collect();
        let x: Vec<u8> = (0..n * d).map(|_| rng.random::<u8>()).collect();
        let w0: Vec<f32> = (0..m * d).map(|_| rng.random::<f32>() - 0.5).collect();
        let a: Vec<f32> = (0..d).map(|_| rng.random::<f32>() * 0.02).collect();
        let beta: Vec<f32> = (0..d).map(|_| rng.random::<f32>() * 2.0).collect();
        let gsum: Vec<f32> = (0..m).map(|r| (0..n).map(|i| g[i * m + r]).sum()).collect();
        let eta: Vec<f32> = (0..m).map(|r| 0.01 * (1 + r % 3) as f32).collect();
        let two_lambda: Vec<f32> = (0..m).map(|r| 0.1 * (r % 2) as f32).collect();
        let inv_n = 1.0 / n as f32;
        let mut want = w0.clone();
        for r in 0..m {
            for j in 0..d {
                let mut acc = 0f32;
                for i in 0..n {
                    acc = g[i * m + r].mul_add(f32::from(x[i * d + j]), acc);
                }
                let t = acc.mul_add(a[j], -gsum[r] * beta[j]);
                let wv = w0[r * d + j];
                let grad = t.mul_add(inv_n, two_lambda[r] * wv);
                want[r * d + j] = (-eta[r]).mul_add(grad, wv);
            }
        }
        for isa in fused() {
            let step = super::update::Step {
                g: &g,
                gsum: &gsum,
                a: &a,
                beta: &beta,
                inv_n,
                eta: &eta,
                two_lambda: &two_lambda,
            };
            let mut w = w0.clone();
            isa.update(&mut w, &step, &x, d);
            let lanes = if isa.name() == "avx2" { 8 } else { 16 };
            let fused_columns = |v: &[f32]| -> Vec<u32> {
                v.chunks_exact(d)
                    .flat_map(|row| row[..d / lanes * lanes].iter().map(|v| v.to_bits()))
                    .collect()
            };
            let same = fused_columns(&w) == fused_columns(&want);
            assert!(same, "{} m={m} d={d} n={n}", isa.name());
        }
    }
}

/// Steps and evaluations shared out among a crew of threads (steps by rows of
/// `W`, or on the AMX tiles the scores by images; evaluations by groups of
/// images) give what one thread gives, bit for bit: for mini-batches that split
/// into whole groups of 16 or not, stacks whose rows split inside a run, and
/// every instruction set.
#[test]
fn shared_steps_and_evaluations_equal_one_thread() {
    // Steps on images 0..100, 100..137, 150..250; the evaluation on all 250.
    let (m0, x, y, affine) = random(10, 3072, 250, 0.01, 11);
    let (m1, ..) = random(10, 3072, 1, 0.02, 12);
    let (m2, ..) = random(10, 3072, 1, 0.05, 13);
    let models = [m0, m1, m2];
    let (eta, lambda) = ([0.1f32, 0.001, 0.01], [0.0f32, 1.0, 0.1]);
    let losses = [Loss::Softmax, Loss::Sigmoid, Loss::Hinge];
    let lam64: Vec<f64> = lambda.iter().map(|&l| f64::from(l)).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for isa in isas() {
        let train = |parts: usize| {
            let mut ws = Workspace::with_isa(isa);
            ws.set_parts(parts);
            let mut stack = Stack::new(&models);
            for (i0, n) in [(0, 100), (100, 37), (150, 100)] {
                let xb = Images::new(&x[i0 * 3072..(i0 + n) * 3072], &affine);
                let yb = &y[i0..i0 + n];
                ws.sgd_step(&mut stack, xb, yb, &eta, &lambda, &losses);
            }
            let m = ws.evaluate(&stack, Images::new(&x, &affine), &y, &lam64, &losses);
            (stack, m)
        };
        let (alone, m_alone) = train(1);
        // 7 parts: more than the pool's threads (and, cut to whole tiles, 6 of
        // 5 rows on AVX2, 3 of 10 rows on AVX-512).
        for parts in [2, 3, 7] {
            let (shared, m_shared) = pool.install(|| train(parts));
            assert_eq!(shared, alone, "{} in {parts} parts", isa.name());
            assert_eq!(m_shared, m_alone, "{} in {parts} parts", isa.name());
        }
    }
}

/// Beyond the widest images the AMX tiles sum exactly, a step and an evaluation
/// with tiles take the AVX-512 kernels, and give their values bit for bit.
#[cfg(target_arch = "x86_64")]
#[test]
fn tiles_hand_over_beyond_their_width() {
    let with_tiles = Isa::detect();
    if !with_tiles.has_tiles() {
        return;
    }
    let d = super::amx::MAX_D + 1;
    let (model, x, y, affine) = random(10, d, 3, 0.01, 41);
    let lam64 = [0.1];
    let run = |isa: Isa| {
        let mut ws = Workspace::with_isa(isa);
        let mut stack = Stack::new(std::slice::from_ref(&model));
        let xs = Images::new(&x, &affine);
        ws.sgd_step(&mut stack, xs, &y, &[0.01], &[0.1], &[Loss::Softmax]);
        let m = ws.evaluate(&stack, xs, &y, &lam64, &[Loss::Softmax]);
        (stack, m)
    };
    assert_eq!(run(with_tiles), run(with_tiles.without_tiles()));
}
