//! The real data: the binary folder verifies, the python sample equals the first
//! 500 records of the test batch, and an archive of it reads the same.

use onelayer::data::{self, BatchName, Check, Layout, ReadOptions};

use crate::common;
use crate::fixtures;

const ALL: [BatchName; 6] = [
    BatchName::Data(1),
    BatchName::Data(2),
    BatchName::Data(3),
    BatchName::Data(4),
    BatchName::Data(5),
    BatchName::Test,
];

#[test]
fn real_binary_folder_reads_and_its_digests_verify() {
    let Some(dir) = common::real_data() else {
        return;
    };
    let d = data::read(&dir, &ALL, &ReadOptions::default()).unwrap();
    assert_eq!(d.layout, Layout::Binary);
    assert_eq!(d.checks, [Check::Official; 6]);
    assert_eq!(d.class_names, fixtures::CLASS_NAMES);
    for b in &d.batches {
        assert_eq!(b.len(), 10_000);
        assert_eq!(b.pixels.len(), 10_000 * 3072);
    }
    // Independent of the reader: the first record's label byte and pixels.
    let raw = std::fs::read(dir.join("test_batch.bin")).unwrap();
    assert_eq!(d.batches[5].labels[0], raw[0]);
    assert_eq!(d.batches[5].pixels[..3072], raw[1..3073]);
}

#[test]
fn the_official_digests_are_those_of_the_real_files() {
    use md5::Digest;
    let Some(dir) = common::real_data() else {
        return;
    };
    // BLAKE3 stands in for md5 on the binary version: each file whose md5 is the
    // published one has the BLAKE3 digest of the table, so either names the file.
    for name in ALL.map(|b| Layout::Binary.file_name(b)) {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        let official = data::verify::official(&name).unwrap();
        let md5 = data::verify::hex(&md5::Md5::digest(&bytes));
        assert_eq!(md5, official.md5, "{name}");
        let blake3 = blake3::hash(&bytes).to_hex().to_string();
        assert_eq!(Some(blake3.as_str()), official.blake3, "{name}");
    }
}

#[test]
fn python_sample_equals_the_first_500_test_records() {
    let Some(dir) = common::real_data() else {
        return;
    };
    let Some(sample) = common::shared_dir("cifar-10-batches-py-sample") else {
        return;
    };
    // The sample bears the official name but holds 500 images: a modified file.
    let strict = data::read(&sample, &[BatchName::Test], &ReadOptions::default());
    assert!(strict.unwrap_err().to_string().contains("--allow-modified"));
    let opts = ReadOptions {
        allow_modified: true,
    };
    let py = data::read(&sample, &[BatchName::Test], &opts).unwrap();
    assert_eq!(py.layout, Layout::Python);
    assert_eq!(py.checks, [Check::Modified]);
    let raw = std::fs::read(dir.join("test_batch.bin")).unwrap();
    let b = &py.batches[0];
    assert_eq!(b.len(), 500);
    for (i, rec) in raw.chunks_exact(3073).take(500).enumerate() {
        assert_eq!(b.labels[i], rec[0], "label {i}");
        assert!(b.pixels[i * 3072..(i + 1) * 3072] == rec[1..], "image {i}");
    }
    assert_eq!(py.class_names, fixtures::CLASS_NAMES);
}

#[test]
fn real_test_batch_from_a_tar_gz_equals_the_folder_and_verifies() {
    let Some(dir) = common::real_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("cifar-10-binary.tar.gz");
    let member = |n: &str| {
        (
            format!("cifar-10-batches-bin/{n}"),
            std::fs::read(dir.join(n)).unwrap(),
        )
    };
    fixtures::tar_gz(
        &archive,
        &[member("batches.meta.txt"), member("test_batch.bin")],
    );
    let which = [BatchName::Test];
    let a = data::read(&archive, &which, &ReadOptions::default()).unwrap();
    let f = data::read(&dir, &which, &ReadOptions::default()).unwrap();
    assert_eq!(a.checks, [Check::Official]);
    assert_eq!(a.batches, f.batches);
    assert_eq!(a.class_names, f.class_names);
}
