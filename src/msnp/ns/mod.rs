//! The notification-server session: sign-in for MSNP2–MSNP8, the contact lists, presence and
//! every NS service, as a sans-I/O state machine ([`NsSession`]).
//!
//! Interoperability notes (Escargot, see `../shared/transcripts/escargot/README.md`): the MSNP8
//! `CHG` always carries the configured client id (Escargot ignores one without it), `PAG` is
//! refused locally unless [`NsConfig::server_supports_pager`] is set, no blank line is ever
//! written, `FND`/`PAG`/`QRY` replies may never come (each request times out into an event), and
//! the MSNP8-style profile `MSG` is accepted in every dialect.

pub mod config;
pub mod contacts;
pub mod event;
pub mod session;

pub use config::{version_range, CvrIdentity, CvrPolicy, NsConfig};
pub use contacts::{Blp, Contact, ContactList, ContactRef, Group, GroupRef, Gtc, ListError, Phone};
pub use event::{ListChange, LocalError, NsError, NsEvent, NsMessageKind, Verb};
pub use session::{NsSession, Phase};
