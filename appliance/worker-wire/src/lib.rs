//! Length-prefixed frames on a byte stream, as the daemon and its workers
//! (`callguard-stt`, `callguard-llm`) exchange them over Unix sockets: a
//! little-endian `u32` body length, then the body. The length is checked
//! against the protocol's limit before the body is read or its buffer
//! grown; buffers that held a frame are zeroed, since frames carry call
//! audio and text. What the bodies mean is each protocol's business.

use std::io::{self, Read, Write};

use zeroize::Zeroize;

/// Bytes of the length prefix.
pub const PREFIX_BYTES: usize = 4;

/// A frame that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer closed the stream between frames.
    #[error("connection closed by the peer")]
    Closed,
    /// The stream ended inside a frame.
    #[error("connection closed inside a frame: {got} of {expected} bytes")]
    Truncated {
        /// Bytes the frame needed (length prefix included).
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A length prefix over the limit: the peer is broken or not ours.
    #[error("frame of {len} bytes is over the limit of {max}")]
    Oversized {
        /// The length announced.
        len: usize,
        /// The protocol's limit.
        max: usize,
    },
    /// A zero length prefix.
    #[error("empty frame")]
    Empty,
    /// Reading or writing failed (includes timeouts, as `WouldBlock` or
    /// `TimedOut`).
    #[error("socket I/O failed: {0}")]
    Io(#[source] io::Error),
}

impl WireError {
    /// Whether this is a read or write timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WireError::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// Reads as much of `buf` as the stream gives, up to its length.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, io::Error> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame's body of at most `max` bytes into `buf` (replacing
/// and zeroing its contents).
pub fn read_frame(reader: &mut impl Read, buf: &mut Vec<u8>, max: usize) -> Result<(), WireError> {
    let mut prefix = [0u8; PREFIX_BYTES];
    match read_full(reader, &mut prefix).map_err(WireError::Io)? {
        0 => return Err(WireError::Closed),
        PREFIX_BYTES => {}
        got => return Err(WireError::Truncated { expected: PREFIX_BYTES, got }),
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len > max {
        return Err(WireError::Oversized { len, max });
    }
    if len == 0 {
        return Err(WireError::Empty);
    }
    buf.zeroize();
    buf.resize(len, 0);
    let got = read_full(reader, buf).map_err(WireError::Io)?;
    if got < len {
        return Err(WireError::Truncated { expected: PREFIX_BYTES + len, got: PREFIX_BYTES + got });
    }
    Ok(())
}

/// Empties `buf` (zeroed) and reserves the length prefix: the caller
/// appends the body, then calls [`write_frame`].
pub fn begin_frame(buf: &mut Vec<u8>) {
    buf.zeroize();
    buf.extend_from_slice(&[0; PREFIX_BYTES]);
}

/// Writes the frame `buf` holds (prefix reserved by [`begin_frame`], then
/// the body) and zeroes `buf`, whether or not the write succeeded.
pub fn write_frame(writer: &mut impl Write, buf: &mut Vec<u8>) -> Result<(), WireError> {
    let len = u32::try_from(buf.len() - PREFIX_BYTES).expect("protocols bound their frames far below 4 GiB");
    buf[..PREFIX_BYTES].copy_from_slice(&len.to_le_bytes());
    let result = writer.write_all(buf).and_then(|()| writer.flush()).map_err(WireError::Io);
    buf.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        begin_frame(&mut buf);
        buf.extend_from_slice(body);
        let mut wire = Vec::new();
        write_frame(&mut wire, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0), "the scratch buffer is zeroed");
        wire
    }

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut wire = frame(b"one");
        wire.extend(frame(b"two!"));
        let (mut reader, mut buf) = (wire.as_slice(), Vec::new());
        read_frame(&mut reader, &mut buf, 16).unwrap();
        assert_eq!(buf, b"one");
        read_frame(&mut reader, &mut buf, 16).unwrap();
        assert_eq!(buf, b"two!");
        assert!(matches!(read_frame(&mut reader, &mut buf, 16), Err(WireError::Closed)));
    }

    #[test]
    fn truncated_oversized_and_empty_frames_are_told_apart() {
        let wire = frame(b"hello world");
        let mut buf = Vec::new();
        assert!(matches!(read_frame(&mut &wire[..2], &mut buf, 64), Err(WireError::Truncated { expected: 4, got: 2 })));
        assert!(matches!(
            read_frame(&mut &wire[..6], &mut buf, 64),
            Err(WireError::Truncated { expected: 15, got: 6 })
        ));
        let huge = u32::MAX.to_le_bytes();
        assert!(matches!(
            read_frame(&mut &huge[..], &mut buf, 64),
            Err(WireError::Oversized { len, max: 64 }) if len == u32::MAX as usize
        ));
        assert!(buf.capacity() < 1024, "an oversized prefix must not grow the buffer");
        assert!(matches!(read_frame(&mut &wire[..], &mut buf, 10), Err(WireError::Oversized { len: 11, .. })));
        assert!(matches!(read_frame(&mut &[0u8; 4][..], &mut buf, 64), Err(WireError::Empty)));
    }
}
