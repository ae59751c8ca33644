//! MSNP2–MSNP8: the wire layer and the notification and switchboard sessions.

pub mod sb;
pub mod wire;
pub mod ns;
