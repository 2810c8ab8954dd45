//! This protocol's messages in the workers' length-prefixed frames
//! (`callguard-worker-wire`), bounded by [`MAX_FRAME_BYTES`].

use std::io::{Read, Write};

use callguard_worker_wire::{WireError, begin_frame, write_frame};
use zeroize::Zeroize;

use crate::MAX_FRAME_BYTES;
use crate::codec::{self, DecodeError, EncodeError};
use crate::message::{Reply, Request};

/// A frame that could not be read or written, or did not decode.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed, ended, or carried a frame of a bad length.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The body did not decode.
    #[error("undecodable frame: {0}")]
    Decode(#[from] DecodeError),
    /// The message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl FrameError {
    /// Whether this is a read or write timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, FrameError::Wire(e) if e.is_timeout())
    }
}

/// Reads one frame's body into `buf` (replacing its contents).
pub fn read_frame(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    Ok(callguard_worker_wire::read_frame(reader, buf, MAX_FRAME_BYTES)?)
}

/// Writes `request` as one frame. `buf` is scratch space, left zeroed.
pub fn write_request(writer: &mut impl Write, request: &Request, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    begin_frame(buf);
    codec::encode_request(request, buf)?;
    Ok(write_frame(writer, buf)?)
}

/// Writes `reply` as one frame. `buf` is scratch space, left zeroed.
pub fn write_reply(writer: &mut impl Write, reply: &Reply, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    begin_frame(buf);
    codec::encode_reply(reply, buf)?;
    Ok(write_frame(writer, buf)?)
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
        write_request(&mut wire, &Request::Ping { nonce: 2 }, &mut buf).unwrap();
        assert!(buf.is_empty());
        let mut reader = wire.as_slice();
        assert_eq!(read_request(&mut reader, &mut buf).unwrap(), Request::Ping { nonce: 1 });
        assert_eq!(read_request(&mut reader, &mut buf).unwrap(), Request::Ping { nonce: 2 });
        assert!(matches!(read_request(&mut reader, &mut buf), Err(FrameError::Wire(WireError::Closed))));
    }

    #[test]
    fn truncated_oversized_and_empty_frames_are_told_apart() {
        let mut wire = Vec::new();
        write_request(&mut wire, &Request::Ping { nonce: 1 }, &mut Vec::new()).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            read_frame(&mut &wire[..2], &mut buf),
            Err(FrameError::Wire(WireError::Truncated { expected: 4, got: 2 }))
        ));
        assert!(matches!(
            read_frame(&mut &wire[..6], &mut buf),
            Err(FrameError::Wire(WireError::Truncated { expected: 13, got: 6 }))
        ));
        let huge = u32::MAX.to_le_bytes();
        assert!(
            matches!(read_frame(&mut &huge[..], &mut buf), Err(FrameError::Wire(WireError::Oversized { len, .. })) if len == u32::MAX as usize)
        );
        assert!(buf.capacity() < 1024, "an oversized prefix must not grow the buffer");
        assert!(matches!(read_frame(&mut &[0u8; 4][..], &mut buf), Err(FrameError::Wire(WireError::Empty))));
        let unknown = [1u8, 0, 0, 0, 0x7f];
        assert!(matches!(
            read_request(&mut &unknown[..], &mut buf),
            Err(FrameError::Decode(DecodeError::UnknownKind(0x7f)))
        ));
    }
}
