//! The command line on bad flags, configs and output folders: a one-line error
//! naming what is wrong, a non-zero exit, no panic, and nothing written.

mod common;

use std::path::Path;

fn fails_with(args: &[&str], expected: &[&str]) {
    let o = common::onelayer().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for e in expected {
        assert!(err.contains(e), "{args:?}: error lacks {e:?}:\n{err}");
    }
}

fn empty_or_absent(dir: &Path) -> bool {
    !dir.exists() || std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn bad_training_flags_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    fails_with(&["train", "--eta", "0", "--out", o], &["--eta", "> 0"]);
    fails_with(&["train", "--eta", "-0.5", "--out", o], &["--eta"]);
    fails_with(
        &["train", "--eta", "1e-46", "--out", o],
        &["--eta", "1e-46", "too small for f32"],
    );
    fails_with(
        &["train", "--lambda", "-1", "--out", o],
        &["--lambda", "≥ 0"],
    );
    fails_with(&["train", "--lambda", "NaN", "--out", o], &["--lambda"]);
    fails_with(&["train", "--n-batch", "0", "--out", o], &["--n-batch"]);
    fails_with(
        &["train", "--n-batch", "10001", "--out", o],
        &["--n-batch", "10000"],
    );
    fails_with(&["train", "--n-epochs", "0", "--out", o], &["--n-epochs"]);
    fails_with(
        &["train", "--train-batches", "7", "--out", o],
        &["--train-batches"],
    );
    fails_with(&["train", "--eta", "abc", "--out", o], &["--eta"]);
    fails_with(
        &["train", "--label-smoothing", "1", "--out", o],
        &["--label-smoothing", "[0, 1)"],
    );
    fails_with(
        &[
            "train",
            "--loss",
            "hinge",
            "--label-smoothing",
            "0.1",
            "--out",
            o,
        ],
        &["--label-smoothing", "softmax loss only", "hinge"],
    );
    fails_with(&["reproduce", "--threads", "0", "--out", o], &["--threads"]);
    assert!(empty_or_absent(&out));
}

#[test]
fn bad_config_files_are_named_with_their_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cfg = tmp.path().join("exp.toml");
    let run = |body: &str| {
        std::fs::write(&cfg, body).unwrap();
        vec![
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let cases: [(&str, &[&str]); 6] = [
        (
            "[[run]]\nlambda = 0.1\neta = 0.0\nn_epochs = 1\nn_batch = 10\n",
            &["run[0].eta"],
        ),
        (
            "[[run]]\nlambda = -0.1\neta = 0.1\nn_epochs = 1\nn_batch = 10\n",
            &["run[0].lambda"],
        ),
        (
            "[[run]]\nlambda = inf\neta = 0.1\nn_epochs = 1\nn_batch = 10\n",
            &["run[0].lambda"],
        ),
        (
            "[[run]]\nlambda = 0.0\neta = 0.1\nn_epochs = 1\nn_batch = 20000\n",
            &["run[0].n_batch"],
        ),
        (
            "[[run]]\nlambda = 0.0\neta = 0.1\n",
            &["exp.toml", "n_epochs"],
        ),
        ("this is not toml", &["exp.toml"]),
    ];
    for (body, expected) in cases {
        let args = run(body);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_with(&args, expected);
    }
    fails_with(
        &["train", "--config", "/nonexistent/exp.toml"],
        &["/nonexistent/exp.toml"],
    );
    assert!(empty_or_absent(&out));
}

#[test]
fn an_output_folder_that_cannot_be_written_is_named() {
    fails_with(
        &[
            "reproduce",
            "--data",
            "/nonexistent",
            "--out",
            "/proc/onelayer-out",
        ],
        &["/proc/onelayer-out"],
    );
}

#[test]
fn a_failed_run_leaves_no_output_folder_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let missing = tmp.path().join("no-data-here");
    fails_with(
        &[
            "reproduce",
            "--data",
            missing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["no-data-here"],
    );
    assert!(!out.exists());
}

#[test]
fn bad_search_grids_are_named_with_their_file_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("grid.toml");
    let out = tmp.path().join("out");
    let base = "[base]\nlambda = 0.0\neta = 0.01\nn_epochs = 1\nn_batch = 100\n";
    let cases: [(&str, &[&str]); 3] = [
        (
            "[space]\nlambda = [1.0, inf]\neta = [0.01]\n[random]\nn = 3\nseed = 1\n",
            &["grid.toml", "space.lambda[1]"],
        ),
        (
            "[space]\nlambda = [0.1]\neta = [0.01]\n[random]\nn = 100000000000\nseed = 1\n",
            &["grid.toml", "random.n"],
        ),
        (
            "[space]\nlambda = [0.1]\neta = [-1.0]\n",
            &["grid.toml", "eta"],
        ),
    ];
    for (space, expected) in cases {
        std::fs::write(&cfg, format!("{base}{space}")).unwrap();
        fails_with(
            &[
                "search",
                "--config",
                cfg.to_str().unwrap(),
                "--data",
                "/nonexistent",
                "--out",
                out.to_str().unwrap(),
            ],
            expected,
        );
    }
    assert!(empty_or_absent(&out));
}

#[test]
fn train_save_refuses_a_folder_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fails_with(
        &[
            "train",
            "--data",
            "/nonexistent",
            "--save",
            tmp.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["--save", "folder"],
    );
    assert!(empty_or_absent(&out));
}

#[test]
fn config_file_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("exp.toml");
    std::fs::write(&cfg, "[split]\ntrain_batches = []\nvalidation = { batch = 2 }\n[[run]]\nlambda = 0.0\neta = 0.1\nn_epochs = 1\nn_batch = 10\n").unwrap();
    fails_with(
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            "/nonexistent",
        ],
        &["exp.toml", "train_batches"],
    );
}

#[test]
fn an_instruction_set_the_cpu_lacks_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let missing = if cfg!(target_arch = "x86_64") {
        "neon"
    } else {
        "avx2"
    };
    fails_with(
        &["train", "--isa", missing, "--out", o],
        &["--isa", missing, "this CPU has no", "portable"],
    );
    fails_with(
        &["train", "--isa", "sse9", "--out", o],
        &["--isa", "sse9", "avx2, neon, portable"],
    );
    let o2 = common::onelayer()
        .args(["train", "--out", o])
        .env("ONELAYER_ISA", missing)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o2.stderr);
    assert!(!o2.status.success() && o2.status.code() != Some(101));
    assert!(
        err.contains("ONELAYER_ISA") && err.contains(missing),
        "{err}"
    );
    assert!(empty_or_absent(&out));
}

/// Whether this CPU has AVX2 (never off x86-64).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[test]
fn the_chosen_instruction_set_runs_and_is_recorded() {
    let Some(data) = common::real_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for isa in ["portable", "avx2"] {
        if isa == "avx2" && !has_avx2() {
            continue;
        }
        let out = tmp.path().join(isa);
        let o = common::onelayer()
            .args(["train", "--n-epochs", "1", "--isa", isa, "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let results = std::fs::read_to_string(out.join("results.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&results).unwrap();
        let kernels = v.pointer("/setup/kernels").and_then(|k| k.as_str());
        assert_eq!(kernels, Some(isa), "{results}");
    }
}
