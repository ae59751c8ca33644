//! Fixed-buffer MSNP framing and typed commands.
#![forbid(unsafe_code)]
