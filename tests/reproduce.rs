//! End to end on the real CIFAR-10: `onelayer reproduce` gives the report's test
//! accuracies, and the weights it saves reproduce them when loaded independently.

mod common;

use ndarray::{Array1, Array2};
use ndarray_npy::read_npy;
use onelayer::model;

/// Test accuracy ranges from public reproductions of the report and several seeds
/// of the numpy reference, by run name.
const RANGES: [(&str, f64, f64); 4] = [
    ("lambda0_eta0.001", 0.384, 0.398),
    ("lambda0.1_eta0.001", 0.387, 0.399),
    ("lambda1_eta0.001", 0.372, 0.380),
    ("lambda0_eta0.1", 0.24, 0.34),
];

#[test]
fn reproduce_matches_the_report_on_the_real_data() {
    let Some(data) = common::real_data() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("results");
    let o = common::onelayer()
        .args(["reproduce", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&o.stderr)
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for r in ["lambda_zero", "lambda_positive"] {
        let g = &json["gradient_check"][r];
        for k in ["max_rel_w", "mean_rel_w", "max_rel_b", "mean_rel_b"] {
            assert!(
                g[k].as_f64().unwrap() < 1e-6,
                "gradient check {r}.{k}: {}",
                g[k]
            );
        }
    }

    // The test set, read straight from the file and pre-processed here with the
    // saved mean and std.
    let raw = std::fs::read(data.join("test_batch.bin")).unwrap();
    let labels: Vec<u8> = raw.chunks_exact(3073).map(|r| r[0]).collect();

    for (name, lo, hi) in RANGES {
        let run = runs
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no run {name}"));
        let acc = run["test_accuracy"].as_f64().unwrap();
        assert!(
            (lo..=hi).contains(&acc),
            "{name}: test accuracy {acc} outside {lo}..{hi}"
        );
        assert_eq!(run["n_epochs"], 40);
        assert_eq!(run["n_batch"], 100);
        let h = &run["history"];
        for k in [
            "train_loss",
            "train_cost",
            "train_accuracy",
            "val_loss",
            "val_cost",
            "val_accuracy",
        ] {
            assert_eq!(h[k].as_array().unwrap().len(), 40, "{name}: history.{k}");
        }
        assert!(stdout.contains(name), "summary lacks {name}:\n{stdout}");

        let rd = dir.join(name);
        let w: Array2<f32> = read_npy(rd.join("W.npy")).unwrap();
        let b: Array1<f32> = read_npy(rd.join("b.npy")).unwrap();
        let mean: Array1<f32> = read_npy(rd.join("mean.npy")).unwrap();
        let std: Array1<f32> = read_npy(rd.join("std.npy")).unwrap();
        assert_eq!(w.dim(), (10, 3072));
        let x = Array2::from_shape_fn((3072, labels.len()), |(i, j)| {
            ((raw[j * 3073 + 1 + i] as f32 / 255.0 - mean[i]) / std[i]) as f64
        });
        let s = model::scores(w.mapv(f64::from).view(), b.mapv(f64::from).view(), x.view());
        let own = model::accuracy(s.view(), &labels);
        assert!(
            (own - acc).abs() < 2e-4,
            "{name}: saved weights give {own}, results.json says {acc}"
        );
    }

    // The report's qualitative findings: regularisation raises the training loss
    // and narrows the gap between training and validation loss.
    let last = |name: &str, key: &str| {
        let r = runs.iter().find(|r| r["name"] == name).unwrap();
        r["history"][key]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let gap = |name: &str| last(name, "val_loss") - last(name, "train_loss");
    assert!(last("lambda1_eta0.001", "train_loss") > last("lambda0_eta0.001", "train_loss"));
    assert!(gap("lambda1_eta0.001") < gap("lambda0_eta0.001"));

    // The figures and the report, written with the results.
    assert!(stdout.contains("report written to"), "{stdout}");
    for (name, _, _) in RANGES {
        for f in [
            "loss.png",
            "loss.svg",
            "cost.png",
            "cost.svg",
            "accuracy.png",
            "accuracy.svg",
            "templates.png",
        ] {
            assert!(dir.join(name).join(f).is_file(), "{name}/{f} missing");
        }
    }
    for f in [
        "report.md",
        "validation_loss.png",
        "validation_loss.svg",
        "templates_all.png",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let table = html.split("<table id=\"experiments\">").nth(1).unwrap();
    let body = table.split("</tbody>").next().unwrap();
    assert_eq!(body.matches("<tr>").count(), 5, "header and four runs");
    assert!(
        html.contains("λ = 0, η = 0.1 oscillated"),
        "the η = 0.1 run oscillates"
    );
}
