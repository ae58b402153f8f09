//! Export, `evaluate --json` and shell completions through the command line, on
//! a model trained on the real data.

mod common;

use std::path::Path;

use onelayer::D;
use onelayer::classify;
use onelayer::metrics::Confusion;
use onelayer::modelfile::ModelFile;

use common::s;

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    common::onelayer()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The class `argmax(weight · x/255 + bias)` of one CIFAR record's pixels, in f32
/// as a framework computes it.
fn linear_class(weight: &[f32], bias: &[f32], pixels: &[u8]) -> usize {
    let scores: Vec<f32> = bias
        .iter()
        .zip(weight.chunks_exact(D))
        .map(|(b, w)| {
            b + w
                .iter()
                .zip(pixels)
                .map(|(w, &p)| w * (f32::from(p) / 255.0))
                .sum::<f32>()
        })
        .collect();
    (0..scores.len()).fold(0, |best, k| if scores[k] > scores[best] { k } else { best })
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn exported_linear_layer_and_evaluate_json_agree_with_the_model_on_the_test_batch() {
    let Some(data) = common::real_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let cwd = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let model = models.join("m.onelayer");
    let out = tmp.path().join("out");
    ok(&run_in(
        &cwd,
        &[
            "train",
            "--data",
            s(&data),
            "--n-epochs",
            "2",
            "--eta",
            "0.01",
            "--out",
            s(&out),
            "--save",
            s(&model),
        ],
    ));
    let file = ModelFile::load(&model).unwrap();
    let test = std::fs::read(data.join("test_batch.bin")).unwrap();
    let pixels: Vec<u8> = test
        .chunks_exact(1 + D)
        .flat_map(|r| &r[1..])
        .copied()
        .collect();
    let labels: Vec<usize> = test
        .chunks_exact(1 + D)
        .map(|r| usize::from(r[0]))
        .collect();
    let predicted = classify::predict(&file, &pixels);

    // The default output is beside the model, whatever the current folder.
    let text = ok(&run_in(&cwd, &["export", s(&model)]));
    let st_path = models.join("m.safetensors");
    assert!(text.contains("m.safetensors"), "{text}");
    let bytes = std::fs::read(&st_path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let weight = f32s(st.tensor("weight").unwrap().data());
    let bias = f32s(st.tensor("bias").unwrap().data());
    assert_eq!(st.tensor("weight").unwrap().shape(), [10, D]);
    let linear: Vec<usize> = pixels
        .chunks_exact(D)
        .map(|x| linear_class(&weight, &bias, x))
        .collect();
    let differ = linear
        .iter()
        .zip(&predicted)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differ, 0,
        "of 10000 test images, {differ} are classified differently"
    );
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().as_ref().unwrap();
    let names: Vec<String> = serde_json::from_str(&meta["class_names"]).unwrap();
    assert_eq!(names, common::CLASS_NAMES);
    assert!(
        meta["data"].contains("5dd7e06a14cb22eb9f671a540d1b7c25"),
        "{meta:?}"
    );

    // npz with the raw arrays, to a chosen path.
    let npz = tmp.path().join("m.npz");
    ok(&run_in(
        &cwd,
        &[
            "export",
            s(&model),
            "--format",
            "npz",
            "--raw",
            "--out",
            s(&npz),
        ],
    ));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&npz).unwrap()).unwrap();
    let mut members: Vec<String> = zip.file_names().map(String::from).collect();
    members.sort();
    assert_eq!(
        members,
        [
            "bias.npy",
            "meta.json",
            "raw.W.npy",
            "raw.b.npy",
            "raw.mean.npy",
            "raw.std.npy",
            "weight.npy"
        ]
    );
    let raw_w: ndarray::Array2<f32> =
        ndarray_npy::ReadNpyExt::read_npy(zip.by_name("raw.W.npy").unwrap()).unwrap();
    assert_eq!(raw_w, file.model.w);

    // evaluate --json: the model's confusion matrix; its image beside the model.
    let json = ok(&run_in(
        &cwd,
        &[
            "evaluate",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let c = Confusion::from_pairs(10, &labels, &predicted).unwrap();
    assert_eq!(v["images"], 10000);
    assert_eq!(v["accuracy"].as_f64().unwrap(), c.accuracy().unwrap());
    for t in 0..10 {
        for p in 0..10 {
            assert_eq!(
                v["confusion"][t][p].as_u64().unwrap(),
                c.count(t, p),
                "[{t}][{p}]"
            );
        }
        assert_eq!(v["classes"][t]["name"], common::CLASS_NAMES[t]);
        assert_eq!(v["classes"][t]["precision"].as_f64(), c.precision(t));
        assert_eq!(v["classes"][t]["recall"].as_f64(), c.recall(t));
    }
    let image = models.join("m-confusion.png");
    assert_eq!(v["image"], s(&image));
    assert!(image::open(&image).is_ok(), "no image beside the model");
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "the current folder stays empty"
    );
}

#[test]
fn export_names_the_bad_model_format_or_output() {
    let tmp = tempfile::tempdir().unwrap();
    let fails = |args: &[&str], parts: &[&str]| {
        let o = run_in(tmp.path(), args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!err.contains("panicked"), "{err}");
        for p in parts {
            assert!(err.contains(p), "{args:?}: error lacks {p:?}: {err}");
        }
    };
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "not a model").unwrap();
    fails(
        &["export", s(&notes)],
        &["notes.txt", "not an onelayer model file"],
    );
    fails(&["export", "missing.onelayer"], &["missing.onelayer"]);
    fails(
        &["export", s(&notes), "--format", "onnx"],
        &["--format", "onnx", "safetensors"],
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing written"
    );
}

#[test]
fn completions_are_scripts_that_name_the_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&run_in(tmp.path(), &["completions", shell]));
        for sub in [
            "reproduce",
            "train",
            "evaluate",
            "export",
            "download",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
    }
    let o = run_in(tmp.path(), &["completions", "cmd"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bash"));
}
