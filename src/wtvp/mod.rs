//! WTVP: the SECURE messengerlogin shim, the built-in WTVP client, LZPF and the headwaiter
//! configuration.
//!
//! Protocol note: `shared/docs/wtvp-secure.md`. Layout:
//! - [`sec`]: WTVSec — challenge/response (DES), RC4 key derivation, the two RC4 streams;
//! - [`lzpf`]: bounded LZPF decompressor (`wtv-lzpf: 0` bodies);
//! - [`message`]: request emission and the incremental response-head parser;
//! - [`headwaiter`]: the typed Messenger configuration from `/login-stage-two`;
//! - [`login`]: the messengerlogin shim contract and the delegate transport;
//! - [`client`]: the built-in sans-I/O WTVP client (box login, SECURE ON, messengerlogin).

pub mod client;
pub mod headwaiter;
pub mod login;
pub mod lzpf;
pub mod message;
pub mod sec;
