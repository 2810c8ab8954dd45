//! Any bytes: the CTranslate2 reader must return an index or an error, never panic or allocate
//! beyond the input, and every variable it indexes must lie inside the input.

#![no_main]

use std::io::Cursor;

use callguard_models::ct2::Ct2Index;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = Ct2Index::read(Cursor::new(data)) else {
        return;
    };
    for variable in &index.variables {
        assert!(variable.offset + variable.byte_len <= data.len() as u64);
        assert_eq!(variable.byte_len, variable.element_count() * variable.dtype.size());
        let _ = variable.read_int_scalar(&mut Cursor::new(data));
    }
    for (alias, _) in &index.aliases {
        let _ = index.get(alias);
    }
});
