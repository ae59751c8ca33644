//! MSNP2–MSNP8: the wire layer and the notification and switchboard sessions.

pub mod ns;
pub mod sb;
pub mod wire;
