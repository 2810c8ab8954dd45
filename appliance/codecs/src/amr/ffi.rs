//! The only `unsafe` code in the crate: Debian's opencore-amr decoders
//! (libopencore-amrnb, libopencore-amrwb), declared by hand from
//! `opencore-amrnb/interf_dec.h` and `opencore-amrwb/dec_if.h` and wrapped
//! in two owning handles.
//!
//! Both libraries take one frame in the storage format of RFC 4867 §5.3: a
//! header byte `(FT << 3) | (Q << 2)` followed by the frame's speech bits,
//! most significant bit first, zero-padded to a whole octet. The wrappers
//! take a fixed [`FRAME_BUF`]-byte buffer, longer than any frame either
//! library reads (AMR-NB 12.2: 1 + 31 bytes, AMR-WB 23.85: 1 + 60 bytes),
//! and a fixed-size output array of exactly one frame (160 or 320 samples),
//! so no length can be wrong at the FFI boundary.

use std::ffi::{c_int, c_short, c_uchar, c_void};
use std::ptr::NonNull;

/// Size of the storage-format frame buffer handed to either library.
pub(crate) const FRAME_BUF: usize = 64;
/// Samples in one 20 ms AMR-NB frame at 8 kHz.
pub(crate) const NB_FRAME_SAMPLES: usize = 160;
/// Samples in one 20 ms AMR-WB frame at 16 kHz.
pub(crate) const WB_FRAME_SAMPLES: usize = 320;

/// `lfi` values of `D_IF_decode` (opencore-amrwb dec_if.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum WbFrameIndicator {
    /// `_good_frame`: decode the frame as its header says.
    Good = 0,
    /// `_lost_frame`: the frame was lost; the bits are not read.
    Lost = 2,
}

#[allow(unsafe_code)]
unsafe extern "C" {
    fn Decoder_Interface_init() -> *mut c_void;
    fn Decoder_Interface_exit(state: *mut c_void);
    // `bfi` is ignored by opencore; losses are signalled with FT 15.
    fn Decoder_Interface_Decode(state: *mut c_void, input: *const c_uchar, out: *mut c_short, bfi: c_int);
}

#[allow(unsafe_code)]
unsafe extern "C" {
    fn D_IF_init() -> *mut c_void;
    // The header declares `bits` const, but dec_if.c clears the Q bit of
    // `bits[0]` in place for a bad frame: always pass a writable buffer.
    fn D_IF_decode(state: *mut c_void, bits: *mut c_uchar, synth: *mut c_short, lfi: c_int);
    fn D_IF_exit(state: *mut c_void);
}

/// An opencore AMR-NB decoder state, freed on drop.
#[derive(Debug)]
pub(crate) struct NbState(NonNull<c_void>);

// SAFETY: the state is heap memory owned by this handle alone, reached only
// through `&mut self`; opencore-amrnb keeps no thread-local or global
// mutable data, so moving the handle to another thread is sound. It is not
// `Sync` (no `&self` method touches the state anyway).
#[allow(unsafe_code)]
unsafe impl Send for NbState {}

impl NbState {
    /// A fresh decoder, or `None` if the library could not allocate one.
    pub(crate) fn new() -> Option<Self> {
        #[allow(unsafe_code)]
        // SAFETY: no arguments; returns a new heap state or NULL.
        let ptr = unsafe { Decoder_Interface_init() };
        NonNull::new(ptr).map(Self)
    }

    /// Decodes one storage-format frame (header byte first) into 160
    /// samples.
    pub(crate) fn decode(&mut self, frame: &[u8; FRAME_BUF], out: &mut [i16; NB_FRAME_SAMPLES]) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` is a live state from `Decoder_Interface_init`
        // (freed only in drop) and exclusively borrowed; `frame` holds
        // FRAME_BUF = 64 readable bytes, more than the 1 + 31 bytes the
        // largest frame type (12.2 kbit/s) reads, and the library reads no
        // bits for FT 15 (the other FTs are rejected before this call);
        // `out` holds the 160 samples one frame writes.
        unsafe {
            Decoder_Interface_Decode(self.0.as_ptr(), frame.as_ptr(), out.as_mut_ptr(), 0)
        }
    }
}

impl Drop for NbState {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` came from `Decoder_Interface_init` and is freed
        // exactly once, here.
        unsafe {
            Decoder_Interface_exit(self.0.as_ptr())
        }
    }
}

/// An opencore AMR-WB decoder state, freed on drop.
#[derive(Debug)]
pub(crate) struct WbState(NonNull<c_void>);

// SAFETY: as for `NbState`: exclusively owned heap state, no thread
// affinity or global mutable data in opencore-amrwb.
#[allow(unsafe_code)]
unsafe impl Send for WbState {}

impl WbState {
    /// A fresh decoder, or `None` if the library could not allocate one.
    pub(crate) fn new() -> Option<Self> {
        #[allow(unsafe_code)]
        // SAFETY: no arguments; returns a new heap state or NULL.
        let ptr = unsafe { D_IF_init() };
        NonNull::new(ptr).map(Self)
    }

    /// Decodes one storage-format frame (header byte first) into 320
    /// samples. The library may clear the Q bit of `frame[0]`.
    pub(crate) fn decode(
        &mut self,
        frame: &mut [u8; FRAME_BUF],
        out: &mut [i16; WB_FRAME_SAMPLES],
        lfi: WbFrameIndicator,
    ) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` is a live state from `D_IF_init` (freed only in
        // drop) and exclusively borrowed; `frame` is 64 writable bytes, more
        // than the 1 + 60 bytes the largest frame type (23.85 kbit/s) reads,
        // and only FT 0-9, 14 and 15 reach here; `out` holds the 320
        // samples one frame writes.
        unsafe {
            D_IF_decode(self.0.as_ptr(), frame.as_mut_ptr(), out.as_mut_ptr(), lfi as c_int)
        }
    }
}

impl Drop for WbState {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` came from `D_IF_init` and is freed exactly once,
        // here.
        unsafe {
            D_IF_exit(self.0.as_ptr())
        }
    }
}
