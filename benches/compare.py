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
  5. the GEMM peak again (the best of both is used).
Prints the times, the ratios, each run's time and its share of the compute floor
(FLOP count / GEMM peak), the peak memory against the data held, and per
instruction set the floor ratio and the peers' times over onelayer's.

Needs numpy (and threadpoolctl to name the BLAS kernel), optionally torch:
    pip install numpy threadpoolctl torch
and a release build: cargo build --release. Installs nothing.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set in the environment, slow a current
numpy; they are removed from the numpy commands' environment only (and the
script says so).

Usage: python3 benches/compare.py [--data DIR] [--reference PATH] [--repeat N]
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


def gemm_peak():
    env, _ = numpy_env()
    out = subprocess.run([sys.executable, "-c", PEAK], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


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
    f32, _, out32 = timed([sys.executable, a.reference, a.data, "--dtype", "float32"], env)
    f64, _, out64 = timed([sys.executable, a.reference, a.data, "--dtype", "float64"], env)
    torch_ref = os.path.join(ROOT, "benches", "torch_reference.py")
    try:
        import torch  # noqa: F401
        tf32, _, outtorch = timed([sys.executable, torch_ref, a.data], env)
    except ImportError:
        tf32, outtorch = None, ""
        print("torch is not installed: no PyTorch peer (pip install torch)")
    peak2 = gemm_peak()
    peak = max(peak1["gflops"], peak2["gflops"])
    print(f"f32 GEMM 1024^3 again: {peak2['gflops']:.1f} GFLOP/s; the best, {peak:.1f}, counts")
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
    print(f"\n{'--isa':<10}{'seconds':>9}{'x floor':>9}{'numpy f32':>11}{'numpy f64':>11}{torch_col:>13}"
          "   (peers: their seconds over onelayer's)")
    print(f"{'floor':<10}{floor:>9.2f}{1:>9.2f}")
    for isa, (s_isa, _, res) in runs.items():
        torch_ratio = f"{tf32 / s_isa:>13.2f}" if tf32 is not None else ""
        print(f"{isa + ' (' + res['setup'].get('kernels', '?') + ')':<10}{s_isa:>9.2f}{s_isa / floor:>9.2f}"
              f"{f32 / s_isa:>11.2f}{f64 / s_isa:>11.2f}{torch_ratio}")
    print(f"\npeak RSS of reproduce: {rss / 1024:.1f} MiB; data held (bytes + labels): "
          f"{data_bytes / 2**20:.1f} MiB; ratio {rss * 1024 / data_bytes:.2f}")


if __name__ == "__main__":
    main()
