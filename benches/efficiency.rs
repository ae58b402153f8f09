//! The kernels' speed as a share of the core's own f32 multiply-add peak, measured
//! side by side: each sample of a kernel (ten mini-batch steps, or an evaluation of
//! 1 000 images) is followed or preceded by a sample of a loop of nothing but
//! independent fused multiply-adds on the same instruction set's vectors, and the
//! ratio of the two rates is taken per pair. On a shared machine the speed of a
//! core changes from second to second (its other hyperthread, its clock); the two
//! samples of a pair come from the same few milliseconds, so the median of the
//! pairs' ratios holds still where the rates themselves do not.
//!
//! ```sh
//! cargo bench --bench efficiency              # every vector instruction set the CPU has
//! cargo bench --bench efficiency -- avx2      # only those named
//! ONELAYER_BENCH_SECONDS=20 cargo bench --bench efficiency
//! ```
//!
//! The peak loop runs 12 (NEON: 24) chains of multiply-adds, more than the
//! multiply-add units' latency times their number, and nothing else; a GEMM
//! reaches at most this rate, so the shares are a stricter measure than a share of
//! a GEMM's peak. FLOPs count a multiply-add as 2. On AMX the scores run on the
//! tile unit and the update on AVX-512; their share is of the AVX-512 peak.

use onelayer::kernels::{Images, Isa, Stack, Workspace};
use onelayer::loss::Loss;
use onelayer::model::Model;
use onelayer::normalize::Affine;
use rand::{RngExt, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};

const D: usize = onelayer::D;
const K: usize = onelayer::K;

/// Images per mini-batch, mini-batches per step sample, images per evaluation sample.
const BATCH: usize = 100;
const STEPS: usize = 10;
const EVAL: usize = 1_000;

/// Iterations of the peak loop per sample: about 0.1 ms on two multiply-add units.
const PEAK_ITERATIONS: usize = 40_000;

/// The f32 multiply-add peak of the vectors an instruction set computes on.
#[derive(Clone, Copy)]
enum Peak {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Peak {
    /// The peak `isa`'s kernels are measured against (AVX-512's for the tiles), or
    /// none for the portable code.
    fn of(isa: Isa) -> Option<Peak> {
        match isa.choice() {
            #[cfg(target_arch = "x86_64")]
            "amx" | "avx512" => Some(Peak::Avx512),
            #[cfg(target_arch = "x86_64")]
            "avx2" => Some(Peak::Avx2),
            #[cfg(target_arch = "aarch64")]
            "neon" => Some(Peak::Neon),
            _ => None,
        }
    }

    /// One sample: the FLOPs done and the time taken.
    fn sample(self) -> (f64, Duration) {
        let start = Instant::now();
        // `Peak::of` names an instruction set only where its kernels were detected
        // on this CPU, which needs the features of the loop.
        let (flops, sink) = match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512F detected (above).
            Peak::Avx512 => (32, unsafe { peak_avx512(PEAK_ITERATIONS) }),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 and FMA detected (above).
            Peak::Avx2 => (16, unsafe { peak_avx2(PEAK_ITERATIONS) }),
            #[cfg(target_arch = "aarch64")]
            // SAFETY: NEON detected (above).
            Peak::Neon => (8, unsafe { peak_neon(PEAK_ITERATIONS) }),
        };
        let elapsed = start.elapsed();
        black_box(sink);
        let chains = if cfg!(target_arch = "aarch64") {
            24
        } else {
            12
        };
        ((flops * chains * PEAK_ITERATIONS) as f64, elapsed)
    }
}

/// `n` iterations of 12 independent multiply-adds on 8 lanes; returns a lane of
/// their sum, so that none of them can be left out.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn peak_avx2(n: usize) -> f32 {
    use std::arch::x86_64::*;
    let (x, w) = (
        _mm256_set1_ps(black_box(1.0001)),
        _mm256_set1_ps(black_box(0.9999)),
    );
    let mut acc = [_mm256_setzero_ps(); 12];
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(x, w, *a);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
    _mm256_cvtss_f32(sum)
}

/// [`peak_avx2`] on 16 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn peak_avx512(n: usize) -> f32 {
    use std::arch::x86_64::*;
    let (x, w) = (
        _mm512_set1_ps(black_box(1.0001)),
        _mm512_set1_ps(black_box(0.9999)),
    );
    let mut acc = [_mm512_setzero_ps(); 12];
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(x, w, *a);
        }
    }
    _mm512_reduce_add_ps(
        acc.iter()
            .fold(_mm512_setzero_ps(), |s, &a| _mm512_add_ps(s, a)),
    )
}

/// [`peak_avx2`] on 4 lanes, with 24 chains: an ARM core may have four
/// multiply-add units of latency 4 or more.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn peak_neon(n: usize) -> f32 {
    use std::arch::aarch64::*;
    let (x, w) = (
        vdupq_n_f32(black_box(1.0001)),
        vdupq_n_f32(black_box(0.9999)),
    );
    let mut acc = [vdupq_n_f32(0.0); 24];
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = vfmaq_f32(*a, x, w);
        }
    }
    vaddvq_f32(acc.iter().fold(vdupq_n_f32(0.0), |s, &a| vaddq_f32(s, a)))
}

/// The kernels measured.
#[derive(Clone, Copy, PartialEq)]
enum Kernel {
    /// Ten mini-batch steps.
    Step,
    /// An evaluation of 1 000 images.
    Eval,
}

/// One kernel measured, on `runs` runs stacked.
struct Case {
    kernel: Kernel,
    runs: usize,
    stack: Stack,
    ws: Workspace,
    /// Per-pair ratios of the kernel's rate to the peak's, and the kernel's rates.
    shares: Vec<f64>,
    rates: Vec<f64>,
}

impl Case {
    fn new(kernel: Kernel, runs: usize, isa: Isa) -> Case {
        Case {
            kernel,
            runs,
            stack: Stack::new(&models(runs)),
            ws: Workspace::with_isa(isa),
            shares: Vec::new(),
            rates: Vec::new(),
        }
    }

    /// One sample on the images `x` (starting at image `at`): the FLOPs and the time.
    fn sample(&mut self, data: &Data, at: usize) -> (f64, Duration) {
        let runs = self.runs;
        let (lambda, loss) = (vec![0.1f32; runs], vec![Loss::Softmax; runs]);
        let rows = (runs * K * D) as f64;
        if self.kernel == Kernel::Step {
            // Fresh weights each time, so that no sample trains far from the start.
            self.stack = Stack::new(&models(runs));
            let eta = vec![1e-3f32; runs];
            let start = Instant::now();
            for b in 0..STEPS {
                let i = (at + b * BATCH) % data.n;
                let x = Images::new(&data.x[i * D..(i + BATCH) * D], &data.affine);
                let y = &data.y[i..i + BATCH];
                self.ws
                    .sgd_step(&mut self.stack, black_box(x), y, &eta, &lambda, &loss);
            }
            (4.0 * rows * (STEPS * BATCH) as f64, start.elapsed())
        } else {
            let i = at % data.n;
            let x = Images::new(&data.x[i * D..(i + EVAL) * D], &data.affine);
            let lambda: Vec<f64> = lambda.iter().map(|&l| f64::from(l)).collect();
            let start = Instant::now();
            let out = self.ws.evaluate(
                &self.stack,
                black_box(x),
                &data.y[i..i + EVAL],
                &lambda,
                &loss,
            );
            let elapsed = start.elapsed();
            black_box(out);
            (2.0 * rows * EVAL as f64, elapsed)
        }
    }
}

/// The names of `isas`, as `--isa` takes them.
fn names(isas: &[Isa]) -> String {
    isas.iter()
        .map(|i| i.choice())
        .collect::<Vec<_>>()
        .join(", ")
}

fn models(runs: usize) -> Vec<Model> {
    (0..runs).map(|r| Model::init(K, D, r as u64)).collect()
}

/// Random images of CIFAR-10's shape, their labels and a normalisation.
struct Data {
    x: Vec<u8>,
    y: Vec<u8>,
    affine: Affine,
    n: usize,
}

impl Data {
    fn new(n: usize) -> Data {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(3);
        Data {
            x: (0..n * D).map(|_| rng.random::<u8>()).collect(),
            y: (0..n).map(|i| (i % K) as u8).collect(),
            affine: Affine {
                a: vec![1.0 / (255.0 * 0.25); D],
                beta: vec![0.45 / 0.25; D],
            },
            n,
        }
    }
}

/// The value at quantile `q` of `v` (sorted here).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds = match std::env::var("ONELAYER_BENCH_SECONDS") {
        Err(_) => 8.0,
        Ok(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => v,
            _ => {
                eprintln!(
                    "ONELAYER_BENCH_SECONDS must be a number of seconds, 0 or more, not {s:?}"
                );
                std::process::exit(2);
            }
        },
    };
    let mut isas = Isa::available();
    for w in &wanted {
        if !isas.iter().any(|i| i.choice() == w) {
            println!("{w}: not on this CPU (it has {})", names(&isas));
        }
    }
    isas.retain(|i| wanted.is_empty() || wanted.iter().any(|w| w == i.choice()));
    // 10 000 images: more than the caches hold, as training reads them.
    let data = Data::new(10_000 + EVAL);
    println!(
        "kernel  runs  isa       GFLOP/s  share of the peak: median of pairs [quartiles], best over best"
    );
    for isa in isas {
        let Some(peak) = Peak::of(isa) else {
            println!(
                "{}: left out, no vector multiply-add peak to compare with",
                isa.choice()
            );
            continue;
        };
        let mut cases: Vec<Case> = [Kernel::Step, Kernel::Eval]
            .into_iter()
            .flat_map(|kernel| [1, 2, 4].map(|runs| Case::new(kernel, runs, isa)))
            .collect();
        let mut peaks = Vec::new();
        let start = Instant::now();
        let mut round = 0;
        // At least one round, whatever the time asked.
        while round == 0 || start.elapsed().as_secs_f64() < seconds {
            let n = cases.len();
            for (c, case) in cases.iter_mut().enumerate() {
                // Each sample on images the one before did not read.
                let at = (round * n + c) * STEPS * BATCH % 10_000;
                // The order alternates, so that neither sample always comes first.
                let ((kf, kt), (pf, pt)) = if round % 2 == 0 {
                    let k = case.sample(&data, at);
                    (k, peak.sample())
                } else {
                    let p = peak.sample();
                    (case.sample(&data, at), p)
                };
                let (rate, peak_rate) = (kf / kt.as_secs_f64(), pf / pt.as_secs_f64());
                case.shares.push(rate / peak_rate);
                case.rates.push(rate);
                peaks.push(peak_rate);
            }
            round += 1;
        }
        let best_peak = quantile(&mut peaks, 1.0);
        for case in cases.iter_mut() {
            let rate = quantile(&mut case.rates, 0.5) / 1e9;
            let best = quantile(&mut case.rates, 1.0) / best_peak;
            let q = [0.25, 0.5, 0.75].map(|q| 100.0 * quantile(&mut case.shares, q));
            println!(
                "{:<6}  {:>4}  {:<8}  {:>7.1}  {:>5.1}% [{:.1}% .. {:.1}%], {:.1}%",
                match case.kernel {
                    Kernel::Step => "step",
                    Kernel::Eval => "eval",
                },
                case.runs,
                isa.choice(),
                rate,
                q[1],
                q[0],
                q[2],
                100.0 * best,
            );
        }
        let p = [0.25, 0.5, 0.75].map(|q| quantile(&mut peaks, q) / 1e9);
        println!(
            "peak          {:<8}  {:>7.1}  [{:.1} .. {:.1}], best {:.1}: multiply-adds alone; {} pairs each",
            isa.choice(),
            p[1],
            p[0],
            p[2],
            best_peak / 1e9,
            peaks.len() / cases.len()
        );
    }
}
