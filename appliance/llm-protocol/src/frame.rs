//! Length-prefixed frames on a byte stream: a little-endian `u32` body
//! length, then the body. The length is checked against
//! [`MAX_FRAME_BYTES`] before the body is read or its buffer grown.

use std::io::{self, Read, Write};

use zeroize::Zeroize;

use crate::MAX_FRAME_BYTES;
use crate::codec::{self, DecodeError, EncodeError};
use crate::message::{Reply, Request};

/// A frame that could not be read or written, or did not decode.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
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
    #[error("frame of {len} bytes is over the limit of {MAX_FRAME_BYTES}")]
    Oversized {
        /// The length announced.
        len: usize,
    },
    /// A zero length prefix.
    #[error("empty frame")]
    Empty,
    /// The body did not decode.
    #[error("undecodable frame: {0}")]
    Decode(#[from] DecodeError),
    /// The message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Reading or writing failed (includes timeouts, as `WouldBlock` or
    /// `TimedOut`).
    #[error("socket I/O failed: {0}")]
    Io(#[source] io::Error),
}

impl FrameError {
    /// Whether this is a read or write timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, FrameError::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
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

/// Reads one frame's body into `buf` (replacing its contents).
pub fn read_frame(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut prefix = [0u8; 4];
    match read_full(reader, &mut prefix).map_err(FrameError::Io)? {
        0 => return Err(FrameError::Closed),
        4 => {}
        got => return Err(FrameError::Truncated { expected: 4, got }),
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(FrameError::Oversized { len });
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    buf.zeroize();
    buf.resize(len, 0);
    let got = read_full(reader, buf).map_err(FrameError::Io)?;
    if got < len {
        return Err(FrameError::Truncated { expected: 4 + len, got: 4 + got });
    }
    Ok(())
}

fn write_body(writer: &mut impl Write, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    // The length prefix was reserved at the front by the caller.
    let len = (buf.len() - 4) as u32;
    buf[..4].copy_from_slice(&len.to_le_bytes());
    let result = writer.write_all(buf).and_then(|()| writer.flush()).map_err(FrameError::Io);
    buf.zeroize();
    result
}

/// Writes `request` as one frame. `buf` is scratch space, left zeroed.
pub fn write_request(writer: &mut impl Write, request: &Request, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    buf.zeroize();
    buf.extend_from_slice(&[0; 4]);
    codec::encode_request(request, buf)?;
    write_body(writer, buf)
}

/// Writes `reply` as one frame. `buf` is scratch space, left zeroed.
pub fn write_reply(writer: &mut impl Write, reply: &Reply, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    buf.zeroize();
    buf.extend_from_slice(&[0; 4]);
    codec::encode_reply(reply, buf)?;
    write_body(writer, buf)
}

/// Reads one request. `buf` is scratch space, left zeroed.
pub fn read_request(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<Request, FrameError> {
    read_frame(reader, buf)?;
    let request = codec::decode_request(buf);
    buf.zeroize();
    Ok(request?)
}

/// Reads one reply. `buf` is scratch space, left zeroed.
pub fn read_reply(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<Reply, FrameError> {
    read_frame(reader, buf)?;
    let reply = codec::decode_reply(buf);
    buf.zeroize();
    Ok(reply?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_back_to_back_on_one_stream() {
        let mut wire = Vec::new();
        let mut buf = Vec::new();
        write_request(&mut wire, &Request::Ping { nonce: 1 }, &mut buf).unwrap();
        write_request(&mut wire, &Request::Forget { call: 2 }, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        let mut reader = wire.as_slice();
        assert_eq!(read_request(&mut reader, &mut buf).unwrap(), Request::Ping { nonce: 1 });
        assert_eq!(read_request(&mut reader, &mut buf).unwrap(), Request::Forget { call: 2 });
        assert!(matches!(read_request(&mut reader, &mut buf), Err(FrameError::Closed)));
    }

    #[test]
    fn truncated_oversized_empty_and_garbled_frames_are_told_apart() {
        let mut wire = Vec::new();
        write_request(&mut wire, &Request::Ping { nonce: 1 }, &mut Vec::new()).unwrap();
        let total = wire.len();
        let mut buf = Vec::new();
        assert!(matches!(read_frame(&mut &wire[..2], &mut buf), Err(FrameError::Truncated { expected: 4, got: 2 })));
        assert!(matches!(
            read_frame(&mut &wire[..6], &mut buf),
            Err(FrameError::Truncated { expected, got: 6 }) if expected == total
        ));
        let huge = u32::MAX.to_le_bytes();
        assert!(
            matches!(read_frame(&mut &huge[..], &mut buf), Err(FrameError::Oversized { len }) if len == u32::MAX as usize)
        );
        let just_over = ((MAX_FRAME_BYTES + 1) as u32).to_le_bytes();
        assert!(matches!(read_frame(&mut &just_over[..], &mut buf), Err(FrameError::Oversized { .. })));
        assert!(buf.capacity() < 1024, "an oversized prefix must not grow the buffer");
        assert!(matches!(read_frame(&mut &[0u8; 4][..], &mut buf), Err(FrameError::Empty)));
        let garbled = [3u8, 0, 0, 0, b'{', b'{', b'}'];
        assert!(matches!(
            read_request(&mut &garbled[..], &mut buf),
            Err(FrameError::Decode(DecodeError::Json { category: "syntax", .. }))
        ));
    }

    #[test]
    fn a_reply_too_large_to_send_is_refused_before_writing() {
        let reply = Reply::Error { id: None, message: "x".repeat(crate::MAX_MESSAGE_BYTES + 1) };
        let mut wire = Vec::new();
        assert!(matches!(write_reply(&mut wire, &reply, &mut Vec::new()), Err(FrameError::Encode(_))));
        assert!(wire.is_empty());
    }
}
