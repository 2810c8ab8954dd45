//! A little-endian reader that knows how long its input is.
//!
//! Both model formats store lengths and counts that a damaged or foreign file
//! can set to anything. Every read here is checked against the bytes left
//! before anything is allocated or skipped, so a bad length field becomes a
//! [`ReadError::Truncated`] naming the byte offset instead of a huge
//! allocation, a panic or a read past the end.

use std::io::{self, Read, Seek, SeekFrom};

/// Why bytes could not be read at a position of a model file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file ends before a field or data block that the format promises.
    #[error("file ends at byte {file_len}, but {what} at byte {offset} needs {needed} bytes")]
    Truncated {
        /// The field or block being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// How many bytes it needs.
        needed: u64,
        /// The length of the whole file.
        file_len: u64,
    },
    /// The operating system failed the read.
    #[error("reading {what} at byte {offset}: {source}")]
    Io {
        /// The field or block being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Reads little-endian fields from a seekable input, tracking the offset and the bytes left.
pub(crate) struct ByteReader<R> {
    inner: R,
    offset: u64,
    len: u64,
}

impl<R: Read + Seek> ByteReader<R> {
    /// Wraps `inner`, measuring its length and starting at byte 0.
    pub(crate) fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(Self { inner, offset: 0, len })
    }

    /// The offset of the next byte to be read.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The length of the whole input.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// How many bytes are left after the current offset.
    pub(crate) fn remaining(&self) -> u64 {
        self.len - self.offset
    }

    /// Fails with [`ReadError::Truncated`] unless `needed` bytes are left.
    fn ensure(&self, needed: u64, what: &'static str) -> Result<(), ReadError> {
        if needed > self.remaining() {
            return Err(ReadError::Truncated { what, offset: self.offset, needed, file_len: self.len });
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadError> {
        self.ensure(N as u64, what)?;
        let mut buf = [0; N];
        self.inner.read_exact(&mut buf).map_err(|source| ReadError::Io { what, offset: self.offset, source })?;
        self.offset += N as u64;
        Ok(buf)
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian u16.
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ReadError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u32.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian i32.
    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, ReadError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    /// Reads `n` bytes, refusing before allocating if the input is shorter.
    pub(crate) fn bytes(&mut self, n: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
        self.ensure(n, what)?;
        let mut buf = vec![0; n as usize];
        self.inner.read_exact(&mut buf).map_err(|source| ReadError::Io { what, offset: self.offset, source })?;
        self.offset += n;
        Ok(buf)
    }

    /// Moves past `n` bytes without reading them, refusing if the input is shorter.
    pub(crate) fn skip(&mut self, n: u64, what: &'static str) -> Result<(), ReadError> {
        self.ensure(n, what)?;
        let target = self.offset + n;
        self.inner.seek(SeekFrom::Start(target)).map_err(|source| ReadError::Io {
            what,
            offset: self.offset,
            source,
        })?;
        self.offset = target;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn reads_little_endian_fields_in_order() {
        let data = [1, 2, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let mut reader = ByteReader::new(Cursor::new(&data[..])).unwrap();
        assert_eq!(reader.u8("a").unwrap(), 1);
        assert_eq!(reader.u16("b").unwrap(), 2);
        assert_eq!(reader.u32("c").unwrap(), 3);
        assert_eq!(reader.i32("d").unwrap(), -1);
        assert_eq!(reader.remaining(), 0);
    }

    #[test]
    fn huge_length_is_refused_before_allocating() {
        let mut reader = ByteReader::new(Cursor::new(&[0u8; 8][..])).unwrap();
        reader.skip(3, "header").unwrap();
        let err = reader.bytes(u64::MAX, "name").unwrap_err();
        assert!(
            matches!(err, ReadError::Truncated { what: "name", offset: 3, needed: u64::MAX, file_len: 8 }),
            "{err:?}"
        );
        assert_eq!(reader.offset(), 3, "a refused read must not move the offset");
        assert!(reader.skip(6, "data").is_err());
    }
}
