//! The official files' published md5, their BLAKE3 digests, and the check
//! against them.
//!
//! A file bearing an official file's name is compared with that file: by BLAKE3
//! where its digest is known (the binary version, whose files are read on every run:
//! BLAKE3 hashes the 92 MB of the report's three in a fifth of the time md5 takes),
//! else by md5. Either
//! digest names one file: a file with the official BLAKE3 digest is the official
//! file, and has its md5.

use md5::{Digest, Md5};

use super::error::{DataError, FileRef};

/// An official batch file of CIFAR-10.
#[derive(Debug, PartialEq, Eq)]
pub struct Official {
    /// Its name.
    pub name: &'static str,
    /// Its published md5.
    pub md5: &'static str,
    /// Its BLAKE3 digest, where known: the binary version's, computed from the
    /// files whose md5 is the published one (a test with the real data checks both).
    pub blake3: Option<&'static str>,
}

/// Every official batch file, both versions.
pub const OFFICIAL: [Official; 12] = [
    binary(
        "data_batch_1.bin",
        "5dd7e06a14cb22eb9f671a540d1b7c25",
        "1b3fcad40d258858f510c4bcd1afcfe8c314b9ce56dd1e5497433a7084a97293",
    ),
    binary(
        "data_batch_2.bin",
        "5ea93a67294ea407fff1d09f752e9692",
        "d6e4b10488a9921e026b4d5ee9f7e3dd326e866f8b48d623538c7cef1a8ffc79",
    ),
    binary(
        "data_batch_3.bin",
        "942cd6a4bcdd0dd3c604fbe906cb4421",
        "a736d929656ecfb2eab80ea59e8573caeea112d8d60a45f4a0a4504214bdd281",
    ),
    binary(
        "data_batch_4.bin",
        "ae636b3ba5c66a11e91e8cb52e771fcb",
        "afd36c14a4d2a00e0c9eab2d984d5c1ebe5a5d7f35ce865c8d6ce74275afb0eb",
    ),
    binary(
        "data_batch_5.bin",
        "53f37980c15c3d472c316c40844f3f0d",
        "fc1cbe676c343edd20366fde0b046aa5251665fe07c5bc068044656a5e5d45eb",
    ),
    binary(
        "test_batch.bin",
        "803d5f7f4d78ea53de84dbe85f74fb6d",
        "69a7d1df5b1d17f8c98089666dffee384a8f3da4421e368f08a80f067ae79ffc",
    ),
    python("data_batch_1", "c99cafc152244af753f735de768cd75f"),
    python("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
    python("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
    python("data_batch_4", "634d18415352ddfa80567beed471001a"),
    python("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    python("test_batch", "40351d587109b95175f43aff81a1287e"),
];

const fn binary(name: &'static str, md5: &'static str, blake3: &'static str) -> Official {
    Official {
        name,
        md5,
        blake3: Some(blake3),
    }
}

const fn python(name: &'static str, md5: &'static str) -> Official {
    Official {
        name,
        md5,
        blake3: None,
    }
}

/// The official file named `name`, if it is one.
pub fn official(name: &str) -> Option<&'static Official> {
    OFFICIAL.iter().find(|o| o.name == name)
}

/// The published md5 of the official file named `name`, if it is one.
pub fn official_md5(name: &str) -> Option<&'static str> {
    official(name).map(|o| o.md5)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Outcome of comparing a file with the official one of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Check {
    /// The file's name is not an official file's name: nothing to compare.
    Unofficial,
    /// The official file's digest.
    Official,
    /// A different digest, accepted because modified data was allowed.
    Modified,
}

/// The digest a file is compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    /// BLAKE3 (256 bits).
    Blake3,
    /// md5.
    Md5,
}

impl std::fmt::Display for DigestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DigestKind::Blake3 => "BLAKE3",
            DigestKind::Md5 => "md5",
        })
    }
}

/// The hash a [`Verifier`] computes.
enum Hashing {
    Blake3(Box<blake3::Hasher>),
    Md5(Md5),
}

/// A digest computed piece by piece, for a file bearing an official file's name.
pub struct Verifier {
    official: &'static Official,
    /// The official file's digest of the kind computed.
    expected: &'static str,
    hashing: Hashing,
}

impl Verifier {
    /// A verifier for `file` if its name is an official file's name.
    pub fn for_file(file: &FileRef) -> Option<Verifier> {
        let official = official(&file.file_name())?;
        let (expected, hashing) = match official.blake3 {
            Some(b) => (b, Hashing::Blake3(Box::new(blake3::Hasher::new()))),
            None => (official.md5, Hashing::Md5(Md5::new())),
        };
        Some(Verifier {
            official,
            expected,
            hashing,
        })
    }

    /// Hashes the next piece of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.hashing {
            Hashing::Blake3(h) => {
                h.update(bytes);
            }
            Hashing::Md5(h) => h.update(bytes),
        }
    }

    /// Compares the digest of everything hashed with the official one. A mismatch
    /// is an error unless `allow_modified`.
    pub fn finish(self, file: &FileRef, allow_modified: bool) -> Result<Check, DataError> {
        let Verifier {
            official,
            expected,
            hashing,
        } = self;
        let (digest, found) = match hashing {
            Hashing::Blake3(h) => (DigestKind::Blake3, h.finalize().to_hex().to_string()),
            Hashing::Md5(h) => (DigestKind::Md5, hex(&h.finalize())),
        };
        if found == expected {
            Ok(Check::Official)
        } else if allow_modified {
            Ok(Check::Modified)
        } else {
            Err(DataError::DigestMismatch {
                file: file.clone(),
                official,
                digest,
                expected,
                found,
            })
        }
    }
}

/// Compares the digest of `bytes` (the content of `file`) with the official one
/// for the file's name, if it has one.
pub fn check(file: &FileRef, bytes: &[u8], allow_modified: bool) -> Result<Check, DataError> {
    match Verifier::for_file(file) {
        None => Ok(Check::Unofficial),
        Some(mut v) => {
            v.update(bytes);
            v.finish(file, allow_modified)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `bytes` checked as the file `name` in an archive.
    fn mismatch(name: &str, pieces: &[&[u8]]) -> DataError {
        let f = FileRef::member(std::path::Path::new("a.tar.gz"), &format!("d/{name}"));
        let mut v = Verifier::for_file(&f).unwrap();
        for p in pieces {
            v.update(p);
        }
        v.finish(&f, false).unwrap_err()
    }

    #[test]
    fn binary_files_are_checked_by_blake3_and_python_ones_by_md5() {
        // BLAKE3 of "abc", the reference implementation's test vector, in pieces.
        match mismatch("test_batch.bin", &[b"a", b"", b"bc"]) {
            DataError::DigestMismatch {
                official,
                digest,
                expected,
                found,
                ..
            } => {
                assert_eq!(digest, DigestKind::Blake3);
                assert_eq!(official.name, "test_batch.bin");
                assert_eq!(Some(expected), official.blake3);
                assert_eq!(
                    found,
                    "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
                );
                assert_eq!(official.md5, "803d5f7f4d78ea53de84dbe85f74fb6d");
            }
            e => panic!("{e:?}"),
        }
        // md5 of "abc", RFC 1321 appendix A.5.
        match mismatch("data_batch_3", &[b"ab", b"c"]) {
            DataError::DigestMismatch {
                digest,
                expected,
                found,
                ..
            } => {
                assert_eq!(digest, DigestKind::Md5);
                assert_eq!(expected, "54ebc095f3ab1f0389bbae665268c751");
                assert_eq!(found, "900150983cd24fb0d6963f7d28e17f72");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn every_binary_file_has_a_blake3_digest_and_no_python_file_does() {
        for o in &OFFICIAL {
            let binary = o.name.ends_with(".bin");
            assert_eq!(o.blake3.is_some(), binary, "{}", o.name);
            let lengths = (o.md5.len(), o.blake3.map_or(64, str::len));
            assert_eq!(lengths, (32, 64), "{}", o.name);
            // Lower-case hex, as the digests are printed.
            let hex = |s: &str| s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
            assert!(hex(o.md5) && o.blake3.is_none_or(hex), "{}", o.name);
        }
    }

    #[test]
    fn only_official_names_are_checked() {
        let f = FileRef::disk(std::path::Path::new("/x/my_batch.bin"));
        assert_eq!(check(&f, b"abc", false).ok(), Some(Check::Unofficial));
        let f = FileRef::member(std::path::Path::new("a.tar.gz"), "d/test_batch.bin");
        let err = check(&f, b"abc", false).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin") && err.contains("--allow-modified"));
        // The message names the file by its published md5 too.
        assert!(err.contains("BLAKE3") && err.contains("803d5f7f4d78ea53de84dbe85f74fb6d"));
        assert_eq!(check(&f, b"abc", true).ok(), Some(Check::Modified));
        let f = FileRef::member(std::path::Path::new("a.tar.gz"), "d/test_batch");
        let err = check(&f, b"abc", false).unwrap_err().to_string();
        assert!(
            err.contains(": md5 900150983cd24fb0d6963f7d28e17f72 differs"),
            "{err}"
        );
        assert!(!err.contains("published"), "{err}");
    }
}
