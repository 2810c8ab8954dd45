//! Writing the sections of a ggml whisper file, in the layout described in [`crate::ggml`].

use std::io::{self, Write};

use crate::ggml::{GGML_MAGIC, GgmlType, WhisperHparams};
use crate::mel::N_FREQ_BINS;

/// Writes ggml sections to `out` in order: header, vocabulary, then tensor headers each followed by its data.
pub(crate) struct GgmlWriter<W: Write> {
    out: W,
}

impl<W: Write> GgmlWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }

    fn u32(&mut self, value: u32) -> io::Result<()> {
        self.out.write_all(&value.to_le_bytes())
    }

    /// Magic, hyper-parameters and the mel filterbank (`n_mels` rows of [`N_FREQ_BINS`]).
    pub(crate) fn header(&mut self, hparams: &WhisperHparams, mel_filters: &[f32]) -> io::Result<()> {
        debug_assert_eq!(mel_filters.len(), hparams.n_mels as usize * N_FREQ_BINS);
        self.u32(GGML_MAGIC)?;
        for (_, value) in hparams.fields() {
            self.u32(value)?;
        }
        self.u32(hparams.n_mels)?;
        self.u32(N_FREQ_BINS as u32)?;
        for &w in mel_filters {
            self.out.write_all(&w.to_le_bytes())?;
        }
        Ok(())
    }

    /// The token count, then each token as a length and its raw bytes.
    pub(crate) fn vocabulary(&mut self, tokens: &[Vec<u8>]) -> io::Result<()> {
        self.u32(tokens.len() as u32)?;
        for token in tokens {
            self.u32(token.len() as u32)?;
            self.out.write_all(token)?;
        }
        Ok(())
    }

    /// A tensor header; its data must follow with [`Self::raw`] or the output directly.
    pub(crate) fn tensor_header(&mut self, name: &str, ne: &[u64], ggml_type: GgmlType) -> io::Result<()> {
        self.u32(ne.len() as u32)?;
        self.u32(name.len() as u32)?;
        self.u32(ggml_type.code())?;
        for &dim in ne {
            self.u32(dim as u32)?;
        }
        self.out.write_all(name.as_bytes())
    }

    /// Bytes written as they are: tensor data.
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// Flushes and returns the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mel::whisper_mel_filters;
    use crate::tensor_table::whisper_tensors;

    /// A tiny but complete whisper ggml model: real structure (1 encoder and 1 decoder layer,
    /// width 4, 2 mel bands, 2 tokens "a" and " b"), zero weights.
    pub(crate) fn small_model() -> Vec<u8> {
        let h = WhisperHparams::from_fields([8, 3, 4, 2, 1, 2, 4, 2, 1, 2, 1]);
        let mut w = GgmlWriter::new(Vec::new());
        w.header(&h, &whisper_mel_filters(2)).unwrap();
        w.vocabulary(&[b"a".to_vec(), b" b".to_vec()]).unwrap();
        for t in whisper_tensors(&h) {
            let ty = t.ggml_type(GgmlType::F16);
            w.tensor_header(&t.name, &t.ne, ty).unwrap();
            w.raw(&vec![0; ty.data_size(&t.ne).unwrap() as usize]).unwrap();
        }
        w.finish().unwrap()
    }
}
