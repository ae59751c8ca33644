//! Login answers computed locally: the MSNP2–7 `USR MD5` response and the MSNP6+ `CHL`/`QRY`
//! response. Both are lower-case hex MD5 digests of a challenge and a secret.

/// Length of a lower-case hex MD5 digest.
pub const MD5_HEX_LEN: usize = 32;

/// Default `QRY` client id (the MSN Messenger 5.0 pair used by MSNP6–MSNP8 clients).
pub const DEFAULT_QRY_CLIENT_ID: &str = "msmsgs@msnmsgr.com";
/// Default `QRY` client key matching [`DEFAULT_QRY_CLIENT_ID`].
pub const DEFAULT_QRY_CLIENT_KEY: &str = "Q1P7W2E4J9R8U3S5";

/// Return the MD5 digest of the concatenation of `parts`.
pub fn md5_concat(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = md5::Context::new();
    for p in parts {
        h.consume(p);
    }
    h.compute().0
}

/// Write `digest` as lower-case hex into a fixed array.
pub fn hex_lower(digest: &[u8; 16]) -> [u8; MD5_HEX_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; MD5_HEX_LEN];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    out
}

/// Return the `USR … MD5 S` answer: hex MD5 of the challenge followed by the password.
pub fn md5_login_response(challenge: &[u8], password: &[u8]) -> [u8; MD5_HEX_LEN] {
    hex_lower(&md5_concat(&[challenge, password]))
}

/// Return the `QRY` payload: hex MD5 of the `CHL` challenge followed by the client key.
pub fn chl_response(challenge: &[u8], client_key: &[u8]) -> [u8; MD5_HEX_LEN] {
    hex_lower(&md5_concat(&[challenge, client_key]))
}

/// Query whether `s` is exactly 32 lower-case hex digits (the shape of an MD5 login answer).
pub fn is_md5_hex(s: &[u8]) -> bool {
    s.len() == MD5_HEX_LEN && s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Overwrite a secret buffer with zeros in a way the optimiser keeps.
pub fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // A volatile-free wipe: black_box keeps the stores from being elided.
        *b = core::hint::black_box(0);
    }
    core::hint::black_box(&*buf);
}
