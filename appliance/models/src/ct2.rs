//! The CTranslate2 `model.bin` format (binary version 6), as faster-whisper ships it.
//!
//! Layout, all integers little-endian, strings as a u16 byte count (the
//! terminating NUL included) followed by the bytes and a NUL:
//!
//! ```text
//! u32 binary version (6) | string spec name ("WhisperSpec") | u32 spec revision
//! u32 variable count, then per variable:
//!     string name | u8 rank | u32 dims[rank] | u8 data type | u32 byte count | data
//! u32 alias count, then per alias: string alias | string variable name
//! ```
//!
//! [`Ct2Index::read`] walks the file once and records where each variable's
//! data lies without loading it, so the converter can stream tensors one at
//! a time. Every count and length is checked against the bytes left.

use std::io::{Read, Seek, SeekFrom};

use crate::byte_reader::{ByteReader, ReadError};

/// The only `model.bin` binary version this reader understands.
pub const CT2_BINARY_VERSION: u32 = 6;

/// Why a CTranslate2 `model.bin` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    /// The file could not be read, or ends early.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file is written in a binary version this reader does not know.
    #[error("model.bin binary version is {found}, only version {CT2_BINARY_VERSION} is supported")]
    UnsupportedVersion {
        /// The version the file declares.
        found: u32,
    },
    /// A field holds a value the format does not allow.
    #[error("model.bin is damaged at byte {offset}: {problem}")]
    Invalid {
        /// Where the bad field starts.
        offset: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The model lacks a variable the caller needs.
    #[error("model.bin has no variable `{name}`")]
    MissingVariable {
        /// The variable looked for.
        name: String,
    },
}

/// The element type of a variable, as CTranslate2 numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DataType {
    /// 32-bit IEEE float (code 0).
    Float32,
    /// Signed byte (code 1): flags, and quantized weights.
    Int8,
    /// Signed 16-bit integer (code 2): small settings such as head counts.
    Int16,
    /// Signed 32-bit integer (code 3).
    Int32,
    /// 16-bit IEEE float (code 4): faster-whisper's usual weight type.
    Float16,
    /// bfloat16 (code 5).
    BFloat16,
}

impl Ct2DataType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Float32,
            1 => Self::Int8,
            2 => Self::Int16,
            3 => Self::Int32,
            4 => Self::Float16,
            5 => Self::BFloat16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Self::Int8 => 1,
            Self::Int16 | Self::Float16 | Self::BFloat16 => 2,
            Self::Float32 | Self::Int32 => 4,
        }
    }
}

/// One named variable of the model and where its data lies in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Variable {
    /// Slash-separated name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions, outermost first (row-major, as PyTorch writes them); empty for a scalar.
    pub shape: Vec<u32>,
    /// Element type.
    pub dtype: Ct2DataType,
    /// Offset of the first data byte in the file.
    pub offset: u64,
    /// Number of data bytes (elements times element size).
    pub byte_len: u64,
}

impl Ct2Variable {
    /// Number of elements (1 for a scalar).
    pub fn element_count(&self) -> u64 {
        self.shape.iter().map(|&d| u64::from(d)).product()
    }

    /// Reads an integer scalar such as `encoder/num_heads`.
    pub fn read_int_scalar<R: Read + Seek>(&self, file: &mut R) -> Result<i64, Ct2Error> {
        let invalid = |problem: String| Ct2Error::Invalid { offset: self.offset, problem };
        if self.element_count() != 1 {
            return Err(invalid(format!("`{}` should be a scalar but has shape {:?}", self.name, self.shape)));
        }
        let size = match self.dtype {
            Ct2DataType::Int8 | Ct2DataType::Int16 | Ct2DataType::Int32 => self.dtype.size() as usize,
            other => return Err(invalid(format!("`{}` should be an integer but is {other:?}", self.name))),
        };
        let mut buf = [0u8; 4];
        file.seek(SeekFrom::Start(self.offset))
            .and_then(|_| file.read_exact(&mut buf[..size]))
            .map_err(|source| ReadError::Io { what: "scalar variable", offset: self.offset, source })?;
        Ok(match size {
            1 => i64::from(buf[0] as i8),
            2 => i64::from(i16::from_le_bytes([buf[0], buf[1]])),
            _ => i64::from(i32::from_le_bytes(buf)),
        })
    }
}

/// The header and variable index of a `model.bin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Index {
    /// The model spec, e.g. `WhisperSpec`.
    pub spec_name: String,
    /// The spec revision.
    pub revision: u32,
    /// Every variable, in file order.
    pub variables: Vec<Ct2Variable>,
    /// Alternative names: `(alias, variable name)`, e.g. a projection tied to the embeddings.
    pub aliases: Vec<(String, String)>,
}

impl Ct2Index {
    /// Walks a whole `model.bin`, recording every variable without loading its data.
    pub fn read<R: Read + Seek>(file: R) -> Result<Self, Ct2Error> {
        let mut reader =
            ByteReader::new(file).map_err(|source| ReadError::Io { what: "file length", offset: 0, source })?;
        let version = reader.u32("binary version")?;
        if version != CT2_BINARY_VERSION {
            return Err(Ct2Error::UnsupportedVersion { found: version });
        }
        let spec_name = read_string(&mut reader, "spec name")?;
        let revision = reader.u32("spec revision")?;
        let count = reader.u32("variable count")?;
        let mut variables = Vec::new();
        for _ in 0..count {
            variables.push(read_variable(&mut reader)?);
        }
        let alias_count = reader.u32("alias count")?;
        let mut aliases = Vec::new();
        for _ in 0..alias_count {
            let alias = read_string(&mut reader, "alias name")?;
            let target = read_string(&mut reader, "alias target")?;
            aliases.push((alias, target));
        }
        if reader.remaining() != 0 {
            return Err(Ct2Error::Invalid {
                offset: reader.offset(),
                problem: format!("{} unexpected bytes after the aliases", reader.remaining()),
            });
        }
        Ok(Self { spec_name, revision, variables, aliases })
    }

    /// Finds a variable by name or alias.
    pub fn get(&self, name: &str) -> Result<&Ct2Variable, Ct2Error> {
        let target = self.aliases.iter().find(|(alias, _)| alias == name).map_or(name, |(_, target)| target);
        self.variables
            .iter()
            .find(|v| v.name == target)
            .ok_or_else(|| Ct2Error::MissingVariable { name: name.to_owned() })
    }
}

fn read_string<R: Read + Seek>(reader: &mut ByteReader<R>, what: &'static str) -> Result<String, Ct2Error> {
    let offset = reader.offset();
    let len = reader.u16(what)?;
    let mut bytes = reader.bytes(u64::from(len), what)?;
    if bytes.pop() != Some(0) {
        return Err(Ct2Error::Invalid { offset, problem: format!("{what} is not NUL-terminated") });
    }
    String::from_utf8(bytes).map_err(|_| Ct2Error::Invalid { offset, problem: format!("{what} is not UTF-8") })
}

fn read_variable<R: Read + Seek>(reader: &mut ByteReader<R>) -> Result<Ct2Variable, Ct2Error> {
    let name = read_string(reader, "variable name")?;
    let rank = reader.u8("variable rank")?;
    let mut shape = Vec::with_capacity(usize::from(rank));
    for _ in 0..rank {
        shape.push(reader.u32("variable dimension")?);
    }
    let dtype_offset = reader.offset();
    let code = reader.u8("variable data type")?;
    let dtype = Ct2DataType::from_code(code).ok_or_else(|| Ct2Error::Invalid {
        offset: dtype_offset,
        problem: format!("variable `{name}` has unknown data type {code}"),
    })?;
    let len_offset = reader.offset();
    let byte_len = u64::from(reader.u32("variable byte count")?);
    let expected = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(u64::from(d)));
    if expected != Some(byte_len) {
        return Err(Ct2Error::Invalid {
            offset: len_offset,
            problem: format!("variable `{name}` of shape {shape:?} and type {dtype:?} declares {byte_len} bytes"),
        });
    }
    let offset = reader.offset();
    reader.skip(byte_len, "variable data")?;
    Ok(Ct2Variable { name, shape, dtype, offset, byte_len })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Cursor;

    use super::*;

    /// Builds a `model.bin` in memory, as CTranslate2's `_serialize` writes it.
    pub(crate) struct Ct2Builder {
        variables: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
        aliases: Vec<(String, String)>,
    }

    fn put_string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    impl Ct2Builder {
        pub(crate) fn new() -> Self {
            Self { variables: Vec::new(), aliases: Vec::new() }
        }

        pub(crate) fn variable(mut self, name: &str, shape: &[u32], dtype: u8, data: Vec<u8>) -> Self {
            self.variables.push((name.to_owned(), shape.to_vec(), dtype, data));
            self
        }

        pub(crate) fn alias(mut self, alias: &str, target: &str) -> Self {
            self.aliases.push((alias.to_owned(), target.to_owned()));
            self
        }

        pub(crate) fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&6u32.to_le_bytes());
            put_string(&mut out, "WhisperSpec");
            out.extend_from_slice(&3u32.to_le_bytes());
            out.extend_from_slice(&(self.variables.len() as u32).to_le_bytes());
            for (name, shape, dtype, data) in &self.variables {
                put_string(&mut out, name);
                out.push(shape.len() as u8);
                for d in shape {
                    out.extend_from_slice(&d.to_le_bytes());
                }
                out.push(*dtype);
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
                out.extend_from_slice(data);
            }
            out.extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
            for (alias, target) in &self.aliases {
                put_string(&mut out, alias);
                put_string(&mut out, target);
            }
            out
        }
    }

    fn sample() -> Vec<u8> {
        Ct2Builder::new()
            .variable("encoder/num_heads", &[], 2, 6i16.to_le_bytes().to_vec())
            .variable("decoder/embeddings/weight", &[3, 2], 4, vec![0x11; 12])
            .alias("decoder/projection/weight", "decoder/embeddings/weight")
            .build()
    }

    #[test]
    fn indexes_variables_and_aliases() {
        let data = sample();
        let index = Ct2Index::read(Cursor::new(&data)).unwrap();
        assert_eq!(index.spec_name, "WhisperSpec");
        assert_eq!(index.revision, 3);
        let heads = index.get("encoder/num_heads").unwrap();
        assert_eq!(heads.read_int_scalar(&mut Cursor::new(&data)).unwrap(), 6);
        let projection = index.get("decoder/projection/weight").unwrap();
        assert_eq!(projection.name, "decoder/embeddings/weight");
        assert_eq!(
            (projection.shape.clone(), projection.dtype, projection.byte_len),
            (vec![3, 2], Ct2DataType::Float16, 12)
        );
        assert_eq!(&data[projection.offset as usize..][..12], &[0x11; 12]);
        assert!(matches!(index.get("nope"), Err(Ct2Error::MissingVariable { .. })));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = sample();
        for len in 0..data.len() {
            let err = Ct2Index::read(Cursor::new(&data[..len])).unwrap_err();
            assert!(matches!(err, Ct2Error::Read(ReadError::Truncated { .. })), "length {len}: {err}");
        }
    }

    #[test]
    fn wrong_version_is_named() {
        let mut data = sample();
        data[0] = 5;
        assert!(matches!(Ct2Index::read(Cursor::new(&data)), Err(Ct2Error::UnsupportedVersion { found: 5 })));
    }

    #[test]
    fn byte_count_must_match_the_shape() {
        let data = Ct2Builder::new().variable("w", &[2, 2], 4, vec![0; 6]).build();
        let err = Ct2Index::read(Cursor::new(&data)).unwrap_err();
        assert!(err.to_string().contains("declares 6 bytes"), "{err}");
    }

    #[test]
    fn unknown_data_type_is_named_with_its_offset() {
        let data = Ct2Builder::new().variable("w", &[1], 9, vec![0]).build();
        let err = Ct2Index::read(Cursor::new(&data)).unwrap_err();
        // 4 version + 14 spec name + 4 revision + 4 count + 4 name + 1 rank + 4 dim = 35.
        assert!(matches!(err, Ct2Error::Invalid { offset: 35, .. }), "{err:?}");
    }

    #[test]
    fn huge_counts_and_lengths_are_bounded_by_the_file() {
        let mut data = sample();
        // The variable count sits after version (4), spec name (2 + 12) and revision (4).
        data[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
        // The reader runs into the aliases, reading them as a third variable.
        let err = Ct2Index::read(Cursor::new(&data)).unwrap_err();
        assert!(matches!(err, Ct2Error::Invalid { offset, .. } if offset > 100), "{err}");

        let data = Ct2Builder::new().variable("w", &[u32::MAX, u32::MAX, u32::MAX], 0, vec![]).build();
        assert!(matches!(Ct2Index::read(Cursor::new(&data)), Err(Ct2Error::Invalid { .. })));
    }

    #[test]
    fn strings_must_be_nul_terminated_utf8() {
        let mut data = sample();
        data[4 + 2 + 11] = b'!';
        let err = Ct2Index::read(Cursor::new(&data)).unwrap_err();
        assert!(err.to_string().contains("spec name is not NUL-terminated"), "{err}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut data = sample();
        data.push(0);
        assert!(matches!(Ct2Index::read(Cursor::new(&data)), Err(Ct2Error::Invalid { .. })));
    }
}
