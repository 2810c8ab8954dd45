//! Any bytes: the ggml inspector must return a layout or an error, never panic or allocate
//! beyond the input, and a layout it accepts must account for every byte.

#![no_main]

use std::io::Cursor;

use callguard_models::read_layout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(layout) = read_layout(Cursor::new(data)) {
        assert_eq!(layout.file_len, data.len() as u64);
        assert!(layout.tensor_count > 0);
        let _ = layout.kind();
    }
});
