#!/usr/bin/env python3
"""Side-by-side benchmark: `onelayer reproduce` against the numpy and PyTorch peers.

Runs, one after the other on this machine:
  1. the f32 GEMM peak: best of several 1024x1024x1024 products through numpy
     (OpenBLAS, all cores), the fastest f32 GEMM available here;
  2. `target/release/onelayer reproduce` (end to end: reading the data, the
     gradient check, the four runs, writing the results), with its peak RSS, once
     per instruction set this CPU has (`--isa amx`, `avx512`, `avx2`, `neon`; the
     ones the CPU lacks are refused and skipped);
  3. `numpy_reference.py DATA --dtype float32`, then `--dtype float64`;
  4. `torch_reference.py DATA` (beside this script: the same method in PyTorch,
     float32 on the CPU), if torch is installed;
  5. the GEMM peak again (the best of both is used);
  6. where the CPU has AVX-512 and `--isas` has avx2: the GEMM peak, numpy and
     PyTorch again on AVX2 alone, approximating a machine without AVX-512 (OpenBLAS's
     Haswell kernels, numpy's dispatch without its AVX-512 targets, MKL, ATen and
     oneDNN held to AVX2), so that `--isa avx2` is measured against the floor and
     the peers of such a machine (`--no-avx2-peers` skips the peers).
Prints the times, the ratios, each run's time and its share of the compute floor
(FLOP count / GEMM peak), the peak memory against the data held, and per
instruction set its floor, the ratio to it and the peers' times over onelayer's.

Needs numpy (and threadpoolctl to name the BLAS kernel), optionally torch:
    pip install numpy threadpoolctl torch
and a release build: cargo build --release. Installs nothing.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set in the environment, slow a current
numpy; they are removed from the numpy commands' environment only (and the
script says so).

Usage: python3 benches/compare.py [--data DIR] [--reference PATH] [--repeat N]
                                  [--isas LIST] [--no-avx2-peers]
"""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
PEAK = r"""
import json, time, numpy as np
n = 1024
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(30))
try:
    from threadpoolctl import threadpool_info
    info = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
except ImportError:
    info = "threadpoolctl not installed"
print(json.dumps({"gflops": 2 * n**3 / best / 1e9, "blas": info}))
"""


def numpy_env():
    env = dict(os.environ)
    removed = [v for v in BLAS_VARS if env.pop(v, None) is not None]
    return env, removed


# What holds the peers to AVX2: OpenBLAS's Haswell kernels, MKL's AVX2 code
# path, ATen's AVX2 kernels and oneDNN's; numpy's own dispatch is held back by
# NPY_DISABLE_CPU_FEATURES (see avx2_env).
AVX2_VARS = {"OPENBLAS_CORETYPE": "Haswell", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
NUMPY_WIDE = r"""
try:
    from numpy._core import _multiarray_umath as m
except ImportError:
    from numpy.core import _multiarray_umath as m
print(" ".join(f for f in m.__cpu_dispatch__ if f.startswith("AVX512") or f == "X86_V4"))
"""


def avx2_env():
    """The peers' environment held to AVX2 (and FMA), approximating a CPU without AVX-512."""
    env, _ = numpy_env()
    env.update(AVX2_VARS)
    wide = subprocess.run([sys.executable, "-c", NUMPY_WIDE], env=env, check=True,
                          capture_output=True, text=True).stdout.split()
    if wide:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(wide)
    return env


def has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return any(l.startswith("flags") and " avx512f" in l for l in f)
    except OSError:
        return False


def gemm_peak(env=None):
    if env is None:
        env, _ = numpy_env()
    out = subprocess.run([sys.executable, "-c", PEAK], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def blas_arch(peak):
    """The kernel OpenBLAS chose, from threadpoolctl (None without it)."""
    info = peak["blas"]
    found = [i[1] for i in info if i[0] == "openblas"] if isinstance(info, list) else []
    return found[0] if found else None


def timed(cmd, env=None, allow_fail=False):
    """Wall seconds, peak RSS (KiB) and stdout of one child process (None if it
    failed and `allow_fail`)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        if allow_fail:
            return None
        sys.exit(f"{' '.join(cmd)} failed with status {p.returncode}")
    return secs, usage.ru_maxrss, out


def run_flops(run, n_train, n_val, n_test, k=10, d=3072):
    """Multiply-adds x 2 of one run: per mini-batch the forward W X and the
    backward G X^T, per epoch the whole training and validation sets, then the test set."""
    n_batch = run["n_batch"]
    epochs = len(run["history"]["train_loss"])
    per_epoch = (n_train // n_batch) * 2 * (2 * k * d * n_batch) + 2 * k * d * (n_train + n_val)
    return epochs * per_epoch + 2 * k * d * n_test


def run_peers(a, env, with_torch):
    """Seconds and stdout of the numpy reference in float32 and float64, and of the
    PyTorch version (None and "" without torch), one after the other in `env`."""
    numpy_ref = [sys.executable, a.reference, a.data, "--dtype"]
    f32, _, out32 = timed(numpy_ref + ["float32"], env)
    f64, _, out64 = timed(numpy_ref + ["float64"], env)
    torch, outtorch = None, ""
    if with_torch:
        torch, _, outtorch = timed([sys.executable, os.path.join(ROOT, "benches", "torch_reference.py"), a.data], env)
    return (f32, out32), (f64, out64), (torch, outtorch)


def machine():
    model = cores = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("CPU(s):"):
                cores = line.split(":", 1)[1].strip()
    except FileNotFoundError:
        pass
    return f"{model}, {cores} cores, {platform.system()} {platform.machine()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CIFAR10_DIR", os.path.join(ROOT, "..", "shared", "cifar-10-batches-bin")))
    ap.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "bench", "numpy_reference.py"))
    ap.add_argument("--repeat", type=int, default=1, help="runs of reproduce (the fastest counts)")
    ap.add_argument("--isas", default="amx,avx512,avx2,neon",
                    help="instruction sets to run reproduce on, where the CPU has them")
    ap.add_argument("--no-avx2-peers", action="store_true",
                    help="on a CPU with AVX-512, do not run the peers again on AVX2 alone")
    a = ap.parse_args()
    try:
        import numpy  # noqa: F401
    except ImportError:
        sys.exit("numpy is needed: pip install numpy threadpoolctl")
    binary = os.path.join(ROOT, "target", "release", "onelayer")
    if not os.path.exists(binary):
        sys.exit("no release build: cargo build --release")
    env, removed = numpy_env()

    print(f"machine: {machine()}")
    if removed:
        print(f"note: {', '.join(removed)} removed from the numpy commands' environment")
    peak1 = gemm_peak()
    print(f"f32 GEMM 1024^3 (numpy, {peak1['blas']}): {peak1['gflops']:.1f} GFLOP/s")

    runs = {}
    for isa in a.isas.split(","):
        best = None
        for _ in range(a.repeat):
            with tempfile.TemporaryDirectory() as out:
                got = timed([binary, "--isa", isa, "reproduce", "--data", a.data, "--out", out],
                            allow_fail=True)
                if got is None:
                    break
                secs, rss, _ = got
                with open(os.path.join(out, "results.json")) as f:
                    results = json.load(f)
            if best is None or secs < best[0]:
                best = (secs, rss, results)
        if best is None:
            print(f"--isa {isa}: not on this CPU, skipped")
        else:
            runs[isa] = best
            print(f"reproduce --isa {isa}: {best[0]:.2f} s")
    if not runs:
        sys.exit("reproduce ran on none of --isas")
    secs, rss, results = next(iter(runs.values()))
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
        print("torch is not installed: no PyTorch peer (pip install torch)")
    (f32, out32), (f64, out64), (tf32, outtorch) = run_peers(a, env, has_torch)
    peak2 = gemm_peak()
    peak = max(peak1["gflops"], peak2["gflops"])
    print(f"f32 GEMM 1024^3 again: {peak2['gflops']:.1f} GFLOP/s; the best, {peak:.1f}, counts")

    # `--isa avx2` on a CPU with AVX-512: the floor and the peers of an AVX2 machine.
    peaks = {isa: peak for isa in runs}
    peers = {isa: (f32, f64, tf32) for isa in runs}
    if "avx2" in runs and has_avx512():
        env2 = avx2_env()
        held = " ".join(f"{k}={v}" for k, v in sorted(env2.items())
                        if k in AVX2_VARS or k == "NPY_DISABLE_CPU_FEATURES")
        print(f"\nAVX2 alone, approximating a CPU without AVX-512: {held}")
        p2 = gemm_peak(env2)
        if blas_arch(p2) != "Haswell":
            print(f"OpenBLAS did not take its Haswell kernels ({p2['blas']}): "
                  "--isa avx2 keeps the native floor and peers")
        else:
            if a.no_avx2_peers:
                print("--no-avx2-peers: avx2's peer columns are the peers on this CPU's own instruction sets")
            else:
                (a32, _), (a64, _), (at32, _) = run_peers(a, env2, has_torch)
                peers["avx2"] = (a32, a64, at32)
                torch_s = f", PyTorch {at32:.2f} s" if at32 is not None else ""
                print(f"peers on AVX2: numpy float32 {a32:.2f} s, float64 {a64:.2f} s{torch_s}")
            p3 = gemm_peak(env2)
            peaks["avx2"] = max(p2["gflops"], p3["gflops"])
            print(f"f32 GEMM 1024^3 on OpenBLAS's Haswell kernels: {p2['gflops']:.1f}, then "
                  f"{p3['gflops']:.1f} GFLOP/s; the best, {peaks['avx2']:.1f}, is avx2's peak")
    setup = results["setup"]
    n_train, n_val, n_test = setup["n_train"], setup["n_val"], setup["n_test"]
    threads = setup.get("threads", 1)
    flops = {r["name"]: run_flops(r, n_train, n_val, n_test) for r in results["runs"]}
    total = sum(flops.values())
    floor = total / (peak * 1e9)
    print(f"\nwork: {total / 1e9:.1f} GFLOP in {len(flops)} runs; floor = work / peak = {floor:.2f} s")
    print(f"\n{'run':<22}{'GFLOP':>8}{'seconds':>9}  (runs trained together share their time)")
    for r in results["runs"]:
        print(f"{r['name']:<22}{flops[r['name']] / 1e9:>8.1f}{r['seconds']:>9.2f}   test acc {100 * r['test_accuracy']:.2f}%")
    # Runs with the same `seconds` were trained as one stack on one thread.
    stacks = {}
    for r in results["runs"]:
        stacks.setdefault(r["seconds"], []).append(r["name"])
    for s, names in stacks.items():
        stack_floor = sum(flops[n] for n in names) / (peak * 1e9 / threads)
        print(f"stack {'+'.join(names)}: {s:.2f} s on one of {threads} threads, "
              f"{s / stack_floor:.2f}x its floor ({stack_floor:.2f} s at peak/{threads})")
    for name, out in (("numpy float32", out32), ("numpy float64", out64), ("PyTorch float32", outtorch)):
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        accs = [f"{100 * l['test_acc']:.2f}%" for l in lines]
        extra = f" (torch {lines[0]['torch']}, {lines[0]['threads']} threads)" if "torch" in name and lines else ""
        if lines:
            print(f"{name} test accuracies: {', '.join(accs)}{extra}")

    data_bytes = (n_train + n_val + n_test) * (3072 + 1)
    print(f"\n{'':<34}{'seconds':>9}{'ratio':>8}")
    print(f"{'onelayer reproduce (end to end)':<34}{secs:>9.2f}{1:>8.2f}   {secs / floor:.2f}x the floor")
    print(f"{'numpy_reference.py float32':<34}{f32:>9.2f}{f32 / secs:>8.2f}")
    print(f"{'numpy_reference.py float64':<34}{f64:>9.2f}{f64 / secs:>8.2f}")
    if tf32 is not None:
        print(f"{'torch_reference.py float32':<34}{tf32:>9.2f}{tf32 / secs:>8.2f}")
    torch_col = "PyTorch f32" if tf32 is not None else ""

    def per_isa(header, note, columns):
        """One row per instruction set run: its label, then `columns(seconds, floor)`."""
        print(f"\n{'--isa':<20}{header}{'numpy f32':>11}{'numpy f64':>11}{torch_col:>13}   ({note})")
        for isa, (s_isa, _, res) in runs.items():
            floor_isa = total / (peaks[isa] * 1e9)
            first, over = columns(s_isa, floor_isa)
            p32, p64, pt32 = peers[isa]
            torch_cell = f"{pt32 / over:>13.2f}" if pt32 is not None else ""
            label = isa + " (" + res["setup"].get("kernels", "?") + ")"
            print(f"{label:<20}{first}{p32 / over:>11.2f}{p64 / over:>11.2f}{torch_cell}")

    per_isa(f"{'seconds':>9}{'floor':>8}{'x floor':>9}",
            "floor: work at the peak of that instruction set; peers: their seconds over "
            "onelayer's, on that instruction set",
            lambda s_isa, floor_isa: (f"{s_isa:>9.2f}{floor_isa:>8.2f}{s_isa / floor_isa:>9.2f}", s_isa))
    # A peer's ratio bounds onelayer's: R× faster than a peer at P× the floor is
    # P/R× the floor, and 1× is OpenBLAS's own GEMM doing these multiply-adds.
    per_isa("", "the peers' seconds over that floor: R× faster than a peer at P× the floor "
            "means P/R× the floor", lambda s_isa, floor_isa: ("", floor_isa))
    print(f"\npeak RSS of reproduce: {rss / 1024:.1f} MiB; data held (bytes + labels): "
          f"{data_bytes / 2**20:.1f} MiB; ratio {rss * 1024 / data_bytes:.2f}")


if __name__ == "__main__":
    main()
