//! quichex's libquiche: a cdylib whose only job is to link the `quiche` crate
//! so that rustc keeps and exports quiche's `#[no_mangle]` C API.
//!
//! Without a reference to the crate rustc would not load it at all and the
//! resulting library would export nothing.
extern crate quiche;
