use super::*;
use crate::D;
use crate::config::Hyper;
use crate::modelfile::DataFingerprint;
use crate::testing::model_file as sample;
use ndarray_npy::ReadNpyExt;
use std::io::Read;

/// Pseudo-random pixel bytes of `n` images.
fn pixels(n: usize) -> Vec<u8> {
    let mut state = 99u64;
    (0..n * D)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn folded_weights_give_the_models_scores_on_pixels_over_255() {
    let file = sample(4);
    let px = pixels(5);
    let z = file.normalizer.normalize(&px);
    let expected = crate::model::scores(file.model.w.view(), file.model.b.view(), z.view());
    let (w, b) = fold(&file);
    let x = Array2::from_shape_fn((D, 5), |(j, i)| f64::from(px[i * D + j]) / 255.0);
    for i in 0..5 {
        for k in 0..4 {
            let s: f64 = (0..D)
                .map(|j| f64::from(w[(k, j)]) * x[(j, i)])
                .sum::<f64>()
                + f64::from(b[k]);
            let e = f64::from(expected[(k, i)]);
            assert!(
                (s - e).abs() < 1e-4 * (1.0 + e.abs()),
                "image {i} class {k}: {s} vs {e}"
            );
        }
    }
}

#[test]
fn safetensors_round_trip_through_the_crates_reader() {
    let file = sample(3);
    let path = Path::new("m.safetensors");
    let bytes = to_bytes(&file, Format::Safetensors, ExportOptions::default(), path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        ["bias", "weight"],
        "a strict load_state_dict needs exactly these"
    );
    let (w, b) = fold(&file);
    let weight = st.tensor("weight").unwrap();
    assert_eq!(weight.dtype(), safetensors::Dtype::F32);
    assert_eq!(weight.shape(), [3, D]);
    assert_eq!(f32s(weight.data()), w.iter().copied().collect::<Vec<_>>());
    let bias = st.tensor("bias").unwrap();
    assert_eq!(bias.shape(), [3]);
    assert_eq!(f32s(bias.data()), b.to_vec());

    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().as_ref().unwrap();
    assert_eq!(meta["format"], EXPORT_FORMAT);
    assert_eq!(meta["format_version"], "1");
    let names: Vec<String> = serde_json::from_str(&meta["class_names"]).unwrap();
    assert_eq!(names, file.meta.class_names);
    let data: DataFingerprint = serde_json::from_str(&meta["data"]).unwrap();
    assert_eq!(data, file.meta.data);
    let run: Hyper = serde_json::from_str(&meta["run"]).unwrap();
    assert_eq!(run, file.meta.run);
}

#[test]
fn raw_option_adds_the_unfolded_arrays() {
    let file = sample(3);
    let opts = ExportOptions { raw: true };
    let bytes = to_bytes(&file, Format::Safetensors, opts, Path::new("m.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let get = |n: &str| f32s(st.tensor(n).unwrap().data());
    assert_eq!(st.tensor("raw.W").unwrap().shape(), [3, D]);
    assert_eq!(
        get("raw.W"),
        file.model.w.iter().copied().collect::<Vec<_>>()
    );
    assert_eq!(get("raw.b"), file.model.b.to_vec());
    assert_eq!(get("raw.mean"), file.normalizer.mean.to_vec());
    assert_eq!(get("raw.std"), file.normalizer.std.to_vec());
    assert_eq!(st.len(), 6);
}

#[test]
fn npz_holds_the_same_arrays_and_metadata() {
    let file = sample(3);
    let opts = ExportOptions { raw: true };
    let bytes = to_bytes(&file, Format::Npz, opts, Path::new("m.npz")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let mut read = |name: &str| {
        let mut v = Vec::new();
        zip.by_name(name).unwrap().read_to_end(&mut v).unwrap();
        v
    };
    let (w, b) = fold(&file);
    let weight = Array2::<f32>::read_npy(&read("weight.npy")[..]).unwrap();
    assert_eq!(weight, w);
    let bias = Array1::<f32>::read_npy(&read("bias.npy")[..]).unwrap();
    assert_eq!(bias, b);
    let std = Array1::<f32>::read_npy(&read("raw.std.npy")[..]).unwrap();
    assert_eq!(std, file.normalizer.std);
    let meta: serde_json::Value = serde_json::from_slice(&read("meta.json")).unwrap();
    assert_eq!(meta["format"], EXPORT_FORMAT);
    assert_eq!(meta["class_names"][2], "class2");
    assert_eq!(meta["run"]["seed"], 7);
}

#[test]
fn a_fold_that_overflows_float32_is_refused() {
    let mut file = sample(3);
    file.model.w[(0, 5)] = 1e30;
    file.normalizer.std[5] = 1e-20;
    let r = to_bytes(
        &file,
        Format::Safetensors,
        ExportOptions::default(),
        Path::new("o.st"),
    );
    let Err(e) = r else {
        panic!("an infinite weight was exported")
    };
    assert!(
        matches!(
            e,
            ExportError::NonFinite {
                tensor: "weight",
                index: 5,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("o.st"), "{e}");
}

#[test]
fn export_writes_the_file_and_names_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onelayer");
    sample(3).save(&model).unwrap();
    let out = default_output(&model, Format::Safetensors);
    assert_eq!(out, dir.path().join("m.safetensors"));
    export(&model, Format::Safetensors, ExportOptions::default(), &out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        safetensors::SafeTensors::deserialize(&bytes).unwrap().len(),
        2
    );

    let not_model = dir.path().join("notes.txt");
    std::fs::write(&not_model, "hello").unwrap();
    let e = export(&not_model, Format::Npz, ExportOptions::default(), &out).unwrap_err();
    assert!(e.to_string().contains("notes.txt"), "{e}");

    let nowhere = dir.path().join("no-such-folder/m.npz");
    let e = export(&model, Format::Npz, ExportOptions::default(), &nowhere).unwrap_err();
    assert!(e.to_string().contains("no-such-folder"), "{e}");

    let before = std::fs::read(&model).unwrap();
    let e = export(&model, Format::Npz, ExportOptions::default(), &model).unwrap_err();
    assert!(matches!(e, ExportError::OutIsModel { .. }), "{e}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "the model is untouched"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 3, "no temporary file is left behind");
}
