//! WTVP: the SECURE messengerlogin shim, the built-in WTVP client, LZPF and the headwaiter
//! configuration.
