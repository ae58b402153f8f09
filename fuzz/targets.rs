//! The fuzzed entry points, one function per reader, shared by the `cargo fuzz`
//! targets (`fuzz/fuzz_targets/`) and by the bounded run in `cargo test`
//! (`tests/fuzz.rs`). Each takes arbitrary bytes; an error is a fine outcome, a
//! panic, an abort, a hang or unbounded memory is a bug.

use std::path::{Path, PathBuf};

use onelayer::data::{self, BatchName, ReadOptions};

/// A reader's entry point: arbitrary bytes in, nothing out.
pub type Target = fn(&[u8]);

/// The readers, by the name of their target and seed corpus folder.
pub const TARGETS: [(&str, Target); 6] = [
    ("pickle", pickle),
    ("npy_model", npy_model),
    ("archive", archive),
    ("binary_batch", binary_batch),
    ("image", image),
    ("config_results", config_results),
];

const LENIENT: ReadOptions = ReadOptions {
    allow_modified: true,
};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("a temporary file");
    p
}

/// The pickle reader, and the python version's batch and meta decoders.
pub fn pickle(bytes: &[u8]) {
    let _ = data::pickle::parse(bytes);
    let t = scratch();
    write(t.path(), "batches.meta", bytes);
    write(t.path(), "data_batch_1", bytes);
    let _ = data::read(t.path(), &[BatchName::Data(1)], &LENIENT);
}

/// `.npy` arrays (weights read by report and search) and model files (`.npz`).
pub fn npy_model(bytes: &[u8]) {
    let _ = onelayer::npy::read::<f32, ndarray::Ix2>(bytes);
    let _ = onelayer::npy::read::<f32, ndarray::IxDyn>(bytes);
    let t = scratch();
    let p = write(t.path(), "model.onelayer", bytes);
    let _ = onelayer::modelfile::ModelFile::load(&p);
    let _ = onelayer::report::read_weights(&p, 10);
}

/// The archive reader (in memory) and the extractor (to disk).
pub fn archive(bytes: &[u8]) {
    let t = scratch();
    let p = write(t.path(), "a.tar.gz", bytes);
    let _ = data::read(&p, &[BatchName::Data(1), BatchName::Test], &LENIENT);
    let out = t.path().join("out");
    if std::fs::create_dir(&out).is_ok() {
        let _ = onelayer::download::extract(&p, &out, onelayer::download::Format::Binary);
    }
    let p = write(t.path(), "a.tar", bytes);
    let _ = data::read(&p, &[BatchName::Data(1)], &LENIENT);
}

/// The binary version's batch and class names files.
pub fn binary_batch(bytes: &[u8]) {
    let t = scratch();
    write(t.path(), "batches.meta.txt", bytes);
    write(t.path(), "data_batch_1.bin", bytes);
    let _ = data::read(t.path(), &[BatchName::Data(1)], &LENIENT);
    // A well-sized batch made of the input, repeated, checks the labels.
    if !bytes.is_empty() {
        let batch: Vec<u8> = bytes.iter().copied().cycle().take(30_730_000).collect();
        write(
            t.path(),
            "batches.meta.txt",
            b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n",
        );
        write(t.path(), "data_batch_1.bin", &batch);
        let _ = data::read(t.path(), &[BatchName::Data(1)], &LENIENT);
    }
}

/// A user's image (PNG or JPEG) brought to a CIFAR record.
pub fn image(bytes: &[u8]) {
    let t = scratch();
    let p = write(t.path(), "image.png", bytes);
    let _ = onelayer::image_input::load(&p);
}

/// TOML configurations and `results.json` (with the weights it names).
pub fn config_results(bytes: &[u8]) {
    let t = scratch();
    let p = write(t.path(), "config.toml", bytes);
    let _ = onelayer::config::ExperimentConfig::from_file(&p).map(|c| c.check(45_000));
    let _ = onelayer::search::SearchConfig::from_file(&p);
    let _ = onelayer::bonus::BonusConfig::from_file(&p);
    write(t.path(), "results.json", bytes);
    let _ = onelayer::report::load(t.path());
}
