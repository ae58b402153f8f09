//! The members of a tar stream with their full names. GNU long-name and PAX
//! extension headers are read here, not by the `tar` crate, so that each is
//! refused above [`MAX_EXTENSION`] bytes before any of it is held in memory.

use std::io::{self, Read};

/// Largest GNU long-name or PAX extension header read, in bytes (a path of a few
/// hundred bytes needs less than 1 kB).
pub const MAX_EXTENSION: u64 = 64 << 10;

/// The members of a tar archive, each with its full name.
pub struct Members<'a, R: Read> {
    entries: tar::Entries<'a, R>,
    /// The name set by a GNU long-name or PAX header for the next member.
    long_name: Option<Vec<u8>>,
}

/// The members of `tar`, extension headers applied to the member they precede.
pub fn members<R: Read>(tar: &mut tar::Archive<R>) -> io::Result<Members<'_, R>> {
    Ok(Members {
        entries: tar.entries()?.raw(true),
        long_name: None,
    })
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<'a, R: Read> Members<'a, R> {
    /// Reads one extension header's content, refusing it above the limit.
    fn extension(&mut self, entry: &mut tar::Entry<'a, R>) -> io::Result<()> {
        let t = entry.header().entry_type();
        let what = if t.is_gnu_longname() || t.is_gnu_longlink() {
            "GNU long-name"
        } else {
            "PAX"
        };
        let size = entry.header().size()?;
        if size > MAX_EXTENSION {
            return Err(invalid(format!(
                "a {what} header of {size} bytes, more than the {MAX_EXTENSION} bytes accepted"
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        entry.take(MAX_EXTENSION).read_to_end(&mut buf)?;
        if t.is_gnu_longname() {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            buf.truncate(end);
            self.long_name = Some(buf);
        } else if t.is_pax_local_extensions() {
            for ext in tar::PaxExtensions::new(&buf) {
                let ext = ext?;
                match ext.key_bytes() {
                    b"path" => self.long_name = Some(ext.value_bytes().to_vec()),
                    b"size" => {
                        return Err(invalid(
                            "a PAX header giving a member's size (members over 8 GB) is not \
                             supported"
                                .into(),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

impl<'a, R: Read> Iterator for Members<'a, R> {
    type Item = io::Result<(Vec<u8>, tar::Entry<'a, R>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut entry = match self.entries.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            let t = entry.header().entry_type();
            let extension = t.is_gnu_longname()
                || t.is_gnu_longlink()
                || t.is_pax_local_extensions()
                || t.is_pax_global_extensions();
            if !extension {
                let name = match self.long_name.take() {
                    Some(n) => n,
                    None => entry.path_bytes().into_owned(),
                };
                return Some(Ok((name, entry)));
            }
            if let Err(e) = self.extension(&mut entry) {
                return Some(Err(e));
            }
        }
    }
}

/// Most bytes a tar stream may hold once decompressed (the official archives hold
/// about 185 MB): bounds the time a compressed bomb can take.
pub const MAX_TAR: u64 = 1 << 30;

/// A reader that fails, rather than ends, after [`MAX_TAR`] bytes.
pub struct Capped<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Capped<R> {
    /// `inner`, capped at [`MAX_TAR`] bytes.
    pub fn new(inner: R) -> Self {
        Capped { inner, read: 0 }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > MAX_TAR {
            return Err(invalid(format!(
                "the archive decompresses to more than {MAX_TAR} bytes"
            )));
        }
        Ok(n)
    }
}
