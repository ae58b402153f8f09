//! The saved model in use, through the command line: `predict` on images of any
//! size and on bad input, `evaluate`, `train --save`, and `download --url`.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use onelayer::D;
use onelayer::config::{Hyper, SplitConfig};
use onelayer::model::Model;
use onelayer::modelfile::{self, DataFingerprint, ModelFile, ModelMeta};
use onelayer::normalize::Normalizer;

use common::CLASS_NAMES as NAMES;
use common::s;

/// A model with pseudo-random weights (a fixed LCG), written to `dir/m.onelayer`.
fn synthetic_model(dir: &Path) -> PathBuf {
    let mut state = 12345u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let file = ModelFile {
        model: Model {
            w: Array2::from_shape_simple_fn((10, D), &mut next),
            b: Array1::from_shape_simple_fn(10, &mut next),
        },
        normalizer: Normalizer {
            mean: Array1::from_elem(D, 0.45),
            std: Array1::from_elem(D, 0.25),
        },
        meta: ModelMeta {
            format: modelfile::FORMAT_NAME.into(),
            version: modelfile::FORMAT_VERSION,
            onelayer_version: "test".into(),
            class_names: NAMES.map(String::from).to_vec(),
            input: modelfile::INPUT_DESCRIPTION.into(),
            run: Hyper {
                name: "synthetic".into(),
                lambda: 0.0,
                eta: 0.001,
                n_epochs: 1,
                n_batch: 100,
                seed: 1,
                shuffle: false,
                options: Default::default(),
            },
            split: SplitConfig::default(),
            data: DataFingerprint {
                source: "none".into(),
                train_batches: vec![],
                n_train: 0,
                train_records_md5: String::new(),
            },
            test_accuracy: None,
            input_kind: Default::default(),
        },
    };
    let path = dir.join("m.onelayer");
    file.save(&path).unwrap();
    path
}

fn run(args: &[&str]) -> std::process::Output {
    common::onelayer().args(args).output().unwrap()
}

/// The command fails with one line on stderr that names `file` (and each of `also`).
fn fails_naming(args: &[&str], file: &Path, also: &[&str]) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(err.contains(name), "error does not name {name}: {err}");
    for a in also {
        assert!(err.contains(a), "error lacks {a:?}: {err}");
    }
}

/// A PNG of width 0 (the IHDR's CRC is computed, so only the size is wrong).
fn zero_width_png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&0u32.to_be_bytes()); // width
    ihdr.extend_from_slice(&5u32.to_be_bytes()); // height
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    png
}

/// `model`'s file with `meta.json`'s version replaced by `version`.
fn with_version(model: &Path, version: u32, to: &Path) {
    let bytes = std::fs::read(model).unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if f.name() == "meta.json" {
            let mut meta: serde_json::Value = serde_json::from_slice(&data).unwrap();
            meta["version"] = version.into();
            data = serde_json::to_vec(&meta).unwrap();
        }
        zout.start_file(f.name(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zout.write_all(&data).unwrap();
    }
    std::fs::write(to, zout.finish().unwrap().into_inner()).unwrap();
}

#[test]
fn predict_reports_bad_input_in_one_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let model = synthetic_model(tmp.path());
    let good = tmp.path().join("good.png");
    image::RgbImage::new(40, 30).save(&good).unwrap();

    let missing = tmp.path().join("missing.png");
    fails_naming(
        &["predict", "--model", s(&model), s(&missing)],
        &missing,
        &[],
    );
    let text = tmp.path().join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    fails_naming(
        &["predict", "--model", s(&model), s(&good), s(&text)],
        &text,
        &[],
    );
    let empty = tmp.path().join("empty.png");
    std::fs::write(&empty, zero_width_png()).unwrap();
    fails_naming(&["predict", "--model", s(&model), s(&empty)], &empty, &[]);

    let v9 = tmp.path().join("future.onelayer");
    with_version(&model, 9, &v9);
    fails_naming(
        &["predict", "--model", s(&v9), s(&good)],
        &v9,
        &["version 9"],
    );
    let cut = tmp.path().join("cut.onelayer");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails_naming(
        &["predict", "--model", s(&cut), s(&good)],
        &cut,
        &["truncated"],
    );
    fails_naming(
        &["predict", "--model", s(&text), s(&good)],
        &text,
        &["not an onelayer model"],
    );
}

#[test]
fn predict_takes_any_size_grey_and_alpha_and_prints_the_top_three() {
    let tmp = tempfile::tempdir().unwrap();
    let model = synthetic_model(tmp.path());
    let rgba = tmp.path().join("big.png");
    image::RgbaImage::from_fn(97, 61, |x, y| image::Rgba([x as u8, y as u8, 90, 17]))
        .save(&rgba)
        .unwrap();
    let grey = tmp.path().join("grey.jpg");
    image::GrayImage::from_fn(20, 50, |x, y| image::Luma([(x * y) as u8]))
        .save(&grey)
        .unwrap();
    let o = run(&[
        "predict",
        "--model",
        s(&model),
        s(&rgba),
        s(&grey),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 2);
    for p in all {
        let top = p["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let probs: Vec<f64> = top
            .iter()
            .map(|t| t["probability"].as_f64().unwrap())
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-6);
        for t in top {
            let c = t["class"].as_u64().unwrap() as usize;
            assert_eq!(t["name"], NAMES[c]);
        }
    }
    // The table shows the same first class.
    let o = run(&["predict", "--model", s(&model), s(&rgba)]);
    let text = String::from_utf8_lossy(&o.stdout);
    let first = all[0]["top"][0]["name"].as_str().unwrap();
    assert!(text.lines().nth(1).unwrap().contains(first), "{text}");
}

/// Scores `W z + b` in f64, written out plainly, for one raw record.
fn plain_class(file: &ModelFile, record: &[u8]) -> usize {
    let z: Vec<f64> = (0..D)
        .map(|j| {
            (record[j] as f64 / 255.0 - file.normalizer.mean[j] as f64)
                / file.normalizer.std[j] as f64
        })
        .collect();
    let scores: Vec<f64> = (0..10)
        .map(|k| {
            file.model.b[k] as f64
                + (0..D)
                    .map(|j| file.model.w[[k, j]] as f64 * z[j])
                    .sum::<f64>()
        })
        .collect();
    (0..10).fold(0, |best, k| if scores[k] > scores[best] { k } else { best })
}

#[test]
fn trained_model_predicts_cifar_pngs_as_it_evaluates_their_records() {
    let Some(data) = common::real_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m.onelayer");
    let out = tmp.path().join("out");
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--n-epochs",
        "2",
        "--out",
        s(&out),
        "--save",
        s(&model),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = ModelFile::load(&model).unwrap();
    // The fingerprint of training batch 1 is the published md5 of data_batch_1.bin
    // (taken from the verified file; that it is the md5 of the records is checked
    // by `the_records_of_batch_1_hash_to_its_published_md5`).
    assert_eq!(
        file.meta.data.train_records_md5,
        "5dd7e06a14cb22eb9f671a540d1b7c25"
    );
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(out.join("lambda0_eta0.001").join("model.onelayer")).unwrap()
    );

    let test = std::fs::read(data.join("test_batch.bin")).unwrap();
    let records: Vec<&[u8]> = test.chunks_exact(1 + D).take(12).collect();
    let mut pngs = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let p = tmp.path().join(format!("test{i}.png"));
        onelayer::image_input::from_cifar(&r[1..]).save(&p).unwrap();
        pngs.push(p);
    }
    let mut args = vec!["predict", "--model", s(&model), "--json"];
    args.extend(pngs.iter().map(|p| s(p)));
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (i, r) in records.iter().enumerate() {
        let predicted = v[i]["top"][0]["class"].as_u64().unwrap() as usize;
        assert_eq!(predicted, plain_class(&file, &r[1..]), "test record {i}");
    }

    // evaluate's accuracy is the share of records whose plain class is the label.
    let correct = test
        .chunks_exact(1 + D)
        .filter(|r| plain_class(&file, &r[1..]) == r[0] as usize)
        .count();
    let evaluate = |image: &Path| {
        let args = ["--data", s(&data), "--image", s(image)];
        run(&[&["evaluate", "--model", s(&model)][..], &args].concat())
    };
    let png = tmp.path().join("cm.png");
    let o = evaluate(&png);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = format!("accuracy {:.2}%", correct as f64 / 100.0);
    assert!(text.contains(&expected), "{expected} not in:\n{text}");
    assert!(
        text.contains("precision") && text.contains("recall"),
        "{text}"
    );
    let img = image::open(&png).unwrap();
    let (w, h) = (img.width(), img.height());
    assert!(w > 10 * 32 && h > 10 * 32, "{w}×{h}");
    let svg = tmp.path().join("cm.SVG");
    let o = evaluate(&svg);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("<svg") && text.contains("airplane"),
        "{text:.200}"
    );
}

#[test]
fn training_again_into_a_folder_keeps_the_earlier_runs() {
    let Some(data) = common::real_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let train = |lambda: &str| {
        let o = run(&[
            "train",
            "--data",
            s(&data),
            "--lambda",
            lambda,
            "--eta",
            "0.01",
            "--n-epochs",
            "1",
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (first, second, third) = ("lambda0_eta0.01", "lambda0.1_eta0.01", "lambda1_eta0.01");
    train("0");
    assert!(out.join(first).join("W.npy").is_file());
    train("0.1");
    train("1");
    // The earlier runs' models stay; results.json lists the last command's run.
    for name in [first, second, third] {
        for f in ["W.npy", "b.npy", "model.onelayer"] {
            assert!(out.join(name).join(f).is_file(), "{name}/{f} lost");
        }
    }
    let results = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(
        results.contains(third) && !results.contains(second),
        "{results:.300}"
    );
}

#[test]
fn evaluate_writes_its_image_only_as_png_or_svg() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["cm.txt", "cm", "cm.png.bak"] {
        let image = tmp.path().join(name);
        let o = run(&["evaluate", "--model", "m.onelayer", "--image", s(&image)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        for part in ["--image", name, ".png or .svg"] {
            assert!(err.contains(part), "{name}: error lacks {part:?}: {err}");
        }
        assert!(!image.exists(), "{name} was written");
    }
}

#[test]
fn train_save_needs_one_run_and_an_existing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("two.toml");
    std::fs::write(
        &cfg,
        "[[run]]\nlambda = 0\neta = 0.01\nn_epochs = 1\nn_batch = 100\n\
         [[run]]\nlambda = 1\neta = 0.01\nn_epochs = 1\nn_batch = 100\n",
    )
    .unwrap();
    let save = tmp.path().join("m.onelayer");
    let out = tmp.path().join("out");
    fails_naming(
        &[
            "train",
            "--config",
            s(&cfg),
            "--save",
            s(&save),
            "--out",
            s(&out),
        ],
        &save,
        &["--save", "a single run"],
    );
    let nowhere = tmp.path().join("no-such-folder").join("m.onelayer");
    fails_naming(
        &["train", "--save", s(&nowhere), "--out", s(&out)],
        &nowhere,
        &["does not exist"],
    );
    assert!(!out.exists());
}

#[test]
fn download_uses_the_url_flag_or_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let url = common::answering_server("500 Internal Server Error");
    let dir = tmp.path().join("data");
    let o = run(&["download", "--dir", s(&dir), "--url", &url]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&url) && err.contains("HTTP 500"), "{err}");
    let o = common::onelayer()
        .args(["download", "--dir", s(&dir)])
        .env("ONELAYER_CIFAR10_URL", &url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&url) && err.contains("HTTP 500"), "{err}");
    assert!(!dir.join("cifar-10-batches-bin").exists());
}

#[test]
fn download_flag_fetches_only_when_the_data_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let url = common::answering_server("500 Internal Server Error");
    let empty = tmp.path().join("empty");
    let out = tmp.path().join("out");
    let o = run(&[
        "reproduce",
        "--download",
        "--url",
        &url,
        "--data",
        s(&empty),
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("downloading") && err.contains("HTTP 500"),
        "{err}"
    );
    assert!(!out.exists());
    let Some(data) = common::real_data() else {
        return;
    };
    // The data is there: nothing is asked of the (failing) server.
    let o = run(&[
        "train",
        "--download",
        "--url",
        &url,
        "--data",
        s(&data),
        "--n-epochs",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_records_of_batch_1_hash_to_its_published_md5() {
    let Some(dir) = common::real_data() else {
        return;
    };
    let which = [onelayer::data::BatchName::Data(1)];
    let read = onelayer::data::read(&dir, &which, &Default::default()).unwrap();
    assert_eq!(
        modelfile::records_md5(&read.batches[0]),
        onelayer::data::verify::official_md5("data_batch_1.bin").unwrap()
    );
}

#[test]
fn extreme_but_finite_weights_give_probabilities_not_nan() {
    let tmp = tempfile::tempdir().unwrap();
    let mut file = ModelFile::load(&synthetic_model(tmp.path())).unwrap();
    // Finite in f32, but W z overflows f32 for any image.
    file.model.w.mapv_inplace(|v| v.signum() * 3e38);
    file.model.w.row_mut(3).fill(f32::MAX);
    let model = tmp.path().join("extreme.onelayer");
    file.save(&model).unwrap();
    let img = tmp.path().join("white.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([255, 255, 255]))
        .save(&img)
        .unwrap();
    let o = run(&["predict", "--model", s(&model), s(&img), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let top = v[0]["top"].as_array().unwrap();
    // White is above the mean everywhere: row 3, all f32::MAX, wins outright.
    assert_eq!(top[0]["class"], 3, "{v}");
    assert_eq!(top[0]["probability"].as_f64(), Some(1.0), "{v}");
    let o = run(&["predict", "--model", s(&model), s(&img)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && !text.contains("NaN"), "{text}");
    assert!(text.contains("100.0"), "{text}");
}

#[test]
fn evaluate_refuses_more_classes_than_its_figure_shows_before_reading_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut file = ModelFile::load(&synthetic_model(tmp.path())).unwrap();
    let k = 50;
    file.model.w = Array2::from_elem((k, D), 0.01);
    file.model.b = Array1::zeros(k);
    file.meta.class_names = (0..k).map(|i| format!("c{i}")).collect();
    let model = tmp.path().join("fifty.onelayer");
    file.save(&model).unwrap();
    let nowhere = tmp.path().join("nowhere");
    fails_naming(
        &["evaluate", "--model", s(&model), "--data", s(&nowhere)],
        &model,
        &["50 classes", "40"],
    );
}

#[test]
fn image_commands_refuse_a_model_of_float_features() {
    let tmp = tempfile::tempdir().unwrap();
    let mut file = ModelFile::load(&synthetic_model(tmp.path())).unwrap();
    let d = 7;
    file.model.w = Array2::from_elem((10, d), 0.1);
    file.normalizer = Normalizer {
        mean: Array1::zeros(d),
        std: Array1::ones(d),
    };
    file.meta = file.meta.for_features(d);
    let probe = tmp.path().join("probe.onelayer");
    file.save(&probe).unwrap();
    let good = tmp.path().join("good.png");
    image::RgbImage::new(32, 32).save(&good).unwrap();
    let also = ["7 float features", "not of CIFAR-10 images"];
    fails_naming(&["predict", "--model", s(&probe), s(&good)], &probe, &also);
    fails_naming(&["evaluate", "--model", s(&probe)], &probe, &also);
    fails_naming(&["export", s(&probe)], &probe, &also);
    assert!(!tmp.path().join("probe.safetensors").exists());
}
