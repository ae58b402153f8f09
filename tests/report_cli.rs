//! `onelayer report DIR`: it regenerates every figure and the report from a
//! results folder, and on bad input it fails with one line and writes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn onelayer_report(dir: &Path) -> Output {
    common::onelayer().arg("report").arg(dir).output().unwrap()
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    out
}

#[test]
fn report_writes_every_figure_and_both_pages() {
    let dir = tempfile::tempdir().unwrap();
    common::report::write(dir.path());
    let out = onelayer_report(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("report written to") && stdout.contains("report.html"),
        "{stdout}"
    );
    for run in common::report::results().runs {
        for f in ["loss", "cost", "accuracy"] {
            for ext in ["png", "svg"] {
                let p = dir.path().join(&run.run.name).join(format!("{f}.{ext}"));
                assert!(p.is_file(), "{p:?} missing");
            }
        }
        assert!(
            dir.path()
                .join(&run.run.name)
                .join("templates.png")
                .is_file()
        );
    }
    for f in [
        "report.html",
        "report.md",
        "validation_loss.png",
        "validation_loss.svg",
        "templates_all.png",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("diverged: its cost became non-finite in epoch 7"),
        "{html}"
    );
}

/// Corrupts a fresh fixture with `corrupt`, runs `onelayer report` and checks
/// that it fails with one line naming `expected`, leaving every file as it was.
fn fails_and_writes_nothing(corrupt: impl Fn(&Path), expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    common::report::write(dir.path());
    corrupt(dir.path());
    let before = snapshot(dir.path());
    let out = onelayer_report(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded on bad input ({expected})");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(
        stderr.starts_with("error: ") && stderr.contains(expected),
        "{stderr}"
    );
    assert_eq!(snapshot(dir.path()), before, "files changed ({expected})");
}

fn edit_json(dir: &Path, from: &str, to: &str) {
    let p = dir.join("results.json");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "fixture has no {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn missing_results_json() {
    fails_and_writes_nothing(
        |d| std::fs::remove_file(d.join("results.json")).unwrap(),
        "results.json",
    );
}

#[test]
fn malformed_results_json() {
    fails_and_writes_nothing(
        |d| {
            let p = d.join("results.json");
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, &text[..text.len() / 2]).unwrap();
        },
        "is not a valid results file",
    );
}

#[test]
fn results_json_of_another_schema() {
    fails_and_writes_nothing(
        |d| edit_json(d, "\"gradient_check\"", "\"gradient_checks\""),
        "missing field `gradient_check`",
    );
}

#[test]
fn results_json_with_wrong_lengths() {
    fails_and_writes_nothing(
        |d| edit_json(d, "\"val_accuracy\": [\n", "\"val_accuracy\": [\n 0.5,\n"),
        "val_accuracy has 7 values, expected 6",
    );
}

#[test]
fn results_json_with_nan() {
    fails_and_writes_nothing(
        |d| edit_json(d, "\"test_loss\": 1.9", "\"test_loss\": NaN"),
        "is not a valid results file",
    );
}

#[test]
fn missing_weights() {
    fails_and_writes_nothing(
        |d| std::fs::remove_file(d.join("lambda1_eta0.001").join("W.npy")).unwrap(),
        "lambda1_eta0.001/W.npy",
    );
}

#[test]
fn malformed_weights() {
    fails_and_writes_nothing(
        |d| {
            std::fs::write(
                d.join("lambda0_eta0.001").join("W.npy"),
                b"\x93NUMPY garbage",
            )
            .unwrap()
        },
        "cannot read the weights",
    );
}

#[test]
fn weights_of_the_wrong_shape() {
    fails_and_writes_nothing(
        |d| {
            let w = ndarray::Array2::<f32>::zeros((3072, 10));
            ndarray_npy::write_npy(d.join("lambda0_eta0.001").join("W.npy"), &w).unwrap();
        },
        "shape [3072, 10], expected [10, 3072]",
    );
}

#[test]
fn a_missing_folder_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = onelayer_report(&missing);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope/results.json"), "{stderr}");
    assert_eq!(
        stderr.matches("os error 2").count(),
        1,
        "cause repeated: {stderr}"
    );
    assert!(!missing.exists());
}

/// Rewrites `results.json` with `edit` applied to its JSON value.
fn edit_value(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let p = dir.join("results.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn results_json_with_values_out_of_range() {
    fails_and_writes_nothing(
        |d| edit_value(d, |v| v["runs"][1]["test_accuracy"] = 7.5.into()),
        "runs[1] (lambda0_eta0.001): test_accuracy is 7.5, expected a fraction in [0, 1]",
    );
    fails_and_writes_nothing(
        |d| {
            edit_value(d, |v| {
                v["runs"][0]["history"]["val_accuracy"][2] = (-0.5).into()
            })
        },
        "history.val_accuracy[2] is -0.5, expected a fraction in [0, 1]",
    );
    fails_and_writes_nothing(
        |d| edit_value(d, |v| v["runs"][0]["eta"] = 0.0.into()),
        "eta is 0, expected a number > 0",
    );
}

#[test]
fn results_json_with_extreme_losses_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    common::report::write(dir.path());
    edit_value(dir.path(), |v| {
        let h = &mut v["runs"][1]["history"];
        h["val_loss"][0] = f64::MAX.into();
        h["train_loss"][1] = (f64::MAX / 3.0).into();
        for c in h["train_cost"].as_array_mut().unwrap() {
            *c = f64::MAX.into();
        }
    });
    let out = onelayer_report(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path()
            .join("lambda0_eta0.001")
            .join("loss.png")
            .is_file()
    );
}
