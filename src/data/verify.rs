//! md5 of the official files, as published with CIFAR-10, and the check against it.

use md5::{Digest, Md5};

use super::error::{DataError, FileRef};

/// Published md5 of every official batch file, both versions: `(file name, md5)`.
pub const OFFICIAL_MD5: [(&str, &str); 12] = [
    ("data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25"),
    ("data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692"),
    ("data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421"),
    ("data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb"),
    ("data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d"),
    ("test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d"),
    ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
    ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
    ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
    ("data_batch_4", "634d18415352ddfa80567beed471001a"),
    ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    ("test_batch", "40351d587109b95175f43aff81a1287e"),
];

/// The published md5 of the official file named `name`, if it is one.
pub fn official_md5(name: &str) -> Option<&'static str> {
    OFFICIAL_MD5
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, md5)| md5)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The md5 of `bytes` as 32 lowercase hex digits.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Outcome of comparing a file with the official one of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Check {
    /// The file's name is not an official file's name: nothing to compare.
    Unofficial,
    /// Same md5 as the official file.
    Official,
    /// A different md5, accepted because modified data was allowed.
    Modified,
}

/// An md5 computed piece by piece, for a file bearing an official file's name.
pub struct Verifier {
    name: String,
    expected: &'static str,
    hasher: Md5,
}

impl Verifier {
    /// A verifier for `file` if its name is an official file's name.
    pub fn for_file(file: &FileRef) -> Option<Verifier> {
        let name = file.file_name();
        official_md5(&name).map(|expected| Verifier {
            name,
            expected,
            hasher: Md5::new(),
        })
    }

    /// Hashes the next piece of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// Compares the md5 of everything hashed with the official one. A mismatch is
    /// an error unless `allow_modified`.
    pub fn finish(self, file: &FileRef, allow_modified: bool) -> Result<Check, DataError> {
        let found: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if found == self.expected {
            Ok(Check::Official)
        } else if allow_modified {
            Ok(Check::Modified)
        } else {
            Err(DataError::Md5Mismatch {
                file: file.clone(),
                name: self.name,
                expected: self.expected.to_string(),
                found,
            })
        }
    }
}

/// Compares the md5 of `bytes` (the content of `file`) with the official md5 for
/// the file's name, if it has one.
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

    #[test]
    fn md5_of_known_strings() {
        // RFC 1321, appendix A.5.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn only_official_names_are_checked() {
        let f = FileRef::disk(std::path::Path::new("/x/my_batch.bin"));
        assert_eq!(check(&f, b"abc", false).ok(), Some(Check::Unofficial));
        let f = FileRef::member(std::path::Path::new("a.tar.gz"), "d/test_batch.bin");
        let err = check(&f, b"abc", false).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin") && err.contains("--allow-modified"));
        assert!(err.contains("803d5f7f4d78ea53de84dbe85f74fb6d"));
        assert_eq!(check(&f, b"abc", true).ok(), Some(Check::Modified));
    }
}
