//! Micro-benchmarks of the hot path on random data of CIFAR-10's shape: one
//! mini-batch step (forward and backward) on the same 100 images, an epoch of steps
//! on 10 000 fresh images, and one full-set evaluation, for one run (K = 10), two,
//! and the report's four runs stacked (K = 40), on each instruction set.
//!
//! Timed in CPU time of the benchmarking thread, not wall-clock time, so that other
//! processes on a shared machine do not count (their cache and memory traffic still
//! does). Throughput is in FLOP/s (one multiply-add = 2).

#[path = "common/cpu_time.rs"]
mod cpu_time;

use cpu_time::CpuTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onelayer::kernels::{Images, Isa, Stack, Workspace};
use onelayer::loss::Loss;
use onelayer::model::Model;
use onelayer::normalize::Affine;
use rand::{RngExt, SeedableRng};
use std::hint::black_box;

const D: usize = onelayer::D;
const K: usize = onelayer::K;

/// `n` random images of bytes, their labels, and a normalisation.
fn random(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>, Affine) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let x = (0..n * D).map(|_| rng.random::<u8>()).collect();
    let y = (0..n).map(|i| (i % K) as u8).collect();
    let affine = Affine {
        a: vec![1.0 / (255.0 * 0.25); D],
        beta: vec![0.45 / 0.25; D],
    };
    (x, y, affine)
}

fn isas() -> Vec<Isa> {
    let best = Isa::detect();
    let mut v = vec![best];
    v.extend(best.has_tiles().then(|| best.without_tiles()));
    v.extend(Isa::avx2().filter(|i| i.name() != best.name()));
    v.push(Isa::portable());
    v
}

/// `runs` fresh models stacked, a workspace on `isa`, and each run's rate, λ and
/// loss.
struct Steps {
    stack: Stack,
    ws: Workspace,
    eta: Vec<f32>,
    lambda: Vec<f32>,
    loss: Vec<Loss>,
}

impl Steps {
    fn new(runs: usize, isa: Isa) -> Steps {
        let models: Vec<Model> = (0..runs).map(|r| Model::init(K, D, r as u64)).collect();
        Steps {
            stack: Stack::new(&models),
            ws: Workspace::with_isa(isa),
            eta: vec![1e-3; runs],
            lambda: vec![0.1; runs],
            loss: vec![Loss::Softmax; runs],
        }
    }

    /// One step on the images `x` with `labels`.
    fn step(&mut self, x: Images, labels: &[u8]) {
        let (eta, lambda, loss) = (&self.eta, &self.lambda, &self.loss);
        self.ws
            .sgd_step(&mut self.stack, x, labels, eta, lambda, loss)
    }
}

fn step(c: &mut Criterion<CpuTime>) {
    let (x, y, affine) = random(100, 1);
    let x = Images::new(&x, &affine);
    let mut group = c.benchmark_group("sgd_step_100");
    for runs in [1, 2, 4] {
        group.throughput(Throughput::Elements((4 * runs * K * D * 100) as u64));
        for isa in isas() {
            let mut steps = Steps::new(runs, isa);
            group.bench_function(format!("{}x{K}/{}", runs, isa.name()), |b| {
                b.iter(|| steps.step(black_box(x), &y))
            });
        }
    }
    group.finish();
}

/// An epoch's steps: 100 mini-batches of 100 fresh images each, as training takes
/// them (the images come from memory, not from a cache that one batch would fit).
fn epoch(c: &mut Criterion<CpuTime>) {
    let (x, y, affine) = random(10_000, 3);
    let mut group = c.benchmark_group("sgd_epoch_10000");
    group.sample_size(10);
    for runs in [1, 2, 4] {
        group.throughput(Throughput::Elements((4 * runs * K * D * 10_000) as u64));
        for isa in isas() {
            let mut steps = Steps::new(runs, isa);
            group.bench_function(format!("{}x{K}/{}", runs, isa.name()), |b| {
                b.iter(|| {
                    for (xb, yb) in x.chunks_exact(100 * D).zip(y.chunks_exact(100)) {
                        steps.step(black_box(Images::new(xb, &affine)), yb)
                    }
                })
            });
        }
    }
    group.finish();
}

fn evaluate(c: &mut Criterion<CpuTime>) {
    let (x, y, affine) = random(10_000, 2);
    let x = Images::new(&x, &affine);
    let mut group = c.benchmark_group("evaluate_10000");
    group.sample_size(20);
    for runs in [1, 2, 4] {
        group.throughput(Throughput::Elements((2 * runs * K * D * 10_000) as u64));
        for isa in isas() {
            let models: Vec<Model> = (0..runs).map(|r| Model::init(K, D, r as u64)).collect();
            let stack = Stack::new(&models);
            let mut ws = Workspace::with_isa(isa);
            let lambda = vec![0.1; runs];
            let loss = vec![Loss::Softmax; runs];
            group.bench_function(format!("{}x{K}/{}", runs, isa.name()), |b| {
                b.iter(|| ws.evaluate(&stack, black_box(x), &y, &lambda, &loss))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // No plots: criterion's plotting needs system fonts.
    config = Criterion::default().with_measurement(CpuTime).without_plots();
    targets = step, epoch, evaluate
}
criterion_main!(benches);
