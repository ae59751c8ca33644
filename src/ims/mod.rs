//! The IMS idle timer and the shared timer table (time supplied by the caller).
