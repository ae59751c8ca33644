//! `msntv-devserver`: a development MSNP2–MSNP8 notification server and switchboard for the
//! msntv-messenger project. It binds 127.0.0.1 only, reads accounts and lists from a JSON config
//! file and keeps them in a state file that is rewritten atomically after every change.
//!
//! Behaviour follows `shared/docs/msnp-client-reference.md` and, where servers differ, what the
//! Escargot transcripts show. Deliberate differences from Escargot:
//!
//! - `VER` accepts MSNP2–MSNP8 only (Escargot also answers MSNP9+).
//! - `SYN` with the current list version answers `SYN trid ver` alone (Escargot always dumps and
//!   answers "client version + 1"); list versions are stored per account and persisted.
//! - `CHL` is sent to MSNP6+ clients after their first `CHG` (configurable, `settings.send_chl`);
//!   a correct `QRY` gets `QRY trid`, a wrong one `540 trid` and a close, no answer in time a close.
//! - `ADD … FL` of an online, visible contact always gives `ILN` (Escargot only when the contact
//!   was already on another of your lists).
//! - `CAL` of someone who has you on their BL gets 217 (Escargot still rings them).
//! - `MSG` with ack `A`/`D`/`N` into a session with nobody else gets `NAK`; Escargot never NAKs.
//! - An empty or one-character line is skipped; Escargot stops parsing the connection.
//! - Commands other than `VER`/`CVR`/`INF`/`USR`/`OUT` before login close the connection (Escargot
//!   shows this for `PNG`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod codec;
pub mod hub;
mod ns;
mod sb;
pub mod server;
pub mod store;

pub use auth::{expected_ticket_token, SecretTicketVerifier, TicketVerifier};
pub use server::{Server, ServerConfig, StartError};
pub use store::{DbFile, Settings};
