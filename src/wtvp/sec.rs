//! WTVSec: the head-waiter challenge, its response, and the per-connection RC4 keys of SECURE ON.
//!
//! Byte layouts follow `shared/docs/wtvp-secure.md` §4–§5. All primitives come from RustCrypto:
//! single DES in ECB mode (`des`), RC4 (`rc4`) and MD5 (`md-5`). Key material is wiped on drop.

use crate::auth::{md5_concat, wipe};
use base64ct::Encoding as _;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::Des;
use rc4::consts::U16;
use rc4::{Rc4, StreamCipher};

/// Length of a DES key (parity bits ignored).
pub const DES_KEY_LEN: usize = 8;
/// Length of a challenge id.
pub const CHALLENGE_ID_LEN: usize = 8;
/// Length of the echo data inside a challenge.
pub const ECHO_LEN: usize = 40;
/// Length of a session key inside a challenge.
pub const SESSION_KEY_LEN: usize = 16;
/// Shortest decodable challenge: the id plus 12 whole DES blocks.
pub const CHALLENGE_MIN_LEN: usize = CHALLENGE_ID_LEN + 96;
/// Length of the challenge minisrv sends (12 blocks plus 4 bytes of a 13th).
pub const MINISRV_CHALLENGE_LEN: usize = 108;
/// Length of a challenge response (id plus 8 DES blocks).
pub const RESPONSE_LEN: usize = 72;
/// Longest challenge accepted, in decoded bytes.
pub const MAX_CHALLENGE_LEN: usize = 256;

/// Say why a challenge or a key could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecError {
    /// The base64 text was not valid or did not fit.
    Base64,
    /// The decoded challenge is shorter than 104 bytes or longer than the cap.
    ChallengeLength,
    /// The MD5 inside the decrypted challenge does not match: wrong key or corrupt challenge.
    ChallengeDigest,
    /// A decoded key has the wrong length.
    KeyLength,
    /// A challenge response does not match the one expected (server side).
    ResponseMismatch,
}

impl SecError {
    /// Return the crate-wide classification of this error.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            SecError::ChallengeDigest | SecError::ResponseMismatch => crate::ErrorKind::Auth,
            _ => crate::ErrorKind::Malformed,
        }
    }
}

/// Hold the secrets recovered from one challenge; wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ChallengeSecrets {
    /// The challenge id, echoed in the response.
    pub id: [u8; CHALLENGE_ID_LEN],
    /// The random echo data.
    pub echo: [u8; ECHO_LEN],
    /// Session key 1 (client → server RC4 key material).
    pub session_key1: [u8; SESSION_KEY_LEN],
    /// Session key 2 (server → client RC4 key material).
    pub session_key2: [u8; SESSION_KEY_LEN],
    /// The new shared DES key K'.
    pub new_key: [u8; DES_KEY_LEN],
}

impl core::fmt::Debug for ChallengeSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChallengeSecrets { .. }")
    }
}

impl Drop for ChallengeSecrets {
    fn drop(&mut self) {
        wipe(&mut self.echo);
        wipe(&mut self.session_key1);
        wipe(&mut self.session_key2);
        wipe(&mut self.new_key);
    }
}

fn des_ecb(key: &[u8; DES_KEY_LEN], data: &mut [u8], encrypt: bool) {
    let cipher = Des::new(key.into());
    for block in data.chunks_exact_mut(8) {
        let b = des::cipher::generic_array::GenericArray::from_mut_slice(block);
        if encrypt {
            cipher.encrypt_block(b);
        } else {
            cipher.decrypt_block(b);
        }
    }
}

/// Decrypt a raw (base64-decoded) challenge with the current key and check its MD5.
pub fn open_challenge(
    key: &[u8; DES_KEY_LEN],
    challenge: &[u8],
) -> Result<ChallengeSecrets, SecError> {
    if challenge.len() < CHALLENGE_MIN_LEN || challenge.len() > MAX_CHALLENGE_LEN {
        return Err(SecError::ChallengeLength);
    }
    let mut plain = [0u8; 96];
    plain.copy_from_slice(
        challenge
            .get(CHALLENGE_ID_LEN..CHALLENGE_MIN_LEN)
            .ok_or(SecError::ChallengeLength)?,
    );
    des_ecb(key, &mut plain, false);
    let digest = md5_concat(&[plain.get(..80).unwrap_or(&[])]);
    let ok = plain.get(80..96) == Some(&digest[..]);
    let mut s = ChallengeSecrets {
        id: [0; CHALLENGE_ID_LEN],
        echo: [0; ECHO_LEN],
        session_key1: [0; SESSION_KEY_LEN],
        session_key2: [0; SESSION_KEY_LEN],
        new_key: [0; DES_KEY_LEN],
    };
    if ok {
        s.id.copy_from_slice(
            challenge
                .get(..CHALLENGE_ID_LEN)
                .ok_or(SecError::ChallengeLength)?,
        );
        s.echo.copy_from_slice(plain.get(..40).unwrap_or(&[0; 40]));
        s.session_key1
            .copy_from_slice(plain.get(40..56).unwrap_or(&[0; 16]));
        s.session_key2
            .copy_from_slice(plain.get(56..72).unwrap_or(&[0; 16]));
        s.new_key
            .copy_from_slice(plain.get(72..80).unwrap_or(&[0; 8]));
    }
    wipe(&mut plain);
    if ok {
        Ok(s)
    } else {
        Err(SecError::ChallengeDigest)
    }
}

/// Build the 72-byte challenge response: `id || DES-ECB(K', MD5(echo) || echo || 08*8)`.
pub fn challenge_response(s: &ChallengeSecrets) -> [u8; RESPONSE_LEN] {
    let mut out = [0u8; RESPONSE_LEN];
    let (id, rest) = out.split_at_mut(CHALLENGE_ID_LEN);
    id.copy_from_slice(&s.id);
    let (dig, rest) = rest.split_at_mut(16);
    dig.copy_from_slice(&md5_concat(&[&s.echo]));
    let (echo, pad) = rest.split_at_mut(ECHO_LEN);
    echo.copy_from_slice(&s.echo);
    pad.fill(0x08);
    if let Some(enc) = out.get_mut(CHALLENGE_ID_LEN..) {
        des_ecb(&s.new_key, enc, true);
    }
    out
}

/// Build a challenge the way minisrv does (server side, for the test service and vectors).
///
/// The result is 108 bytes: the id, 12 DES blocks of the secret, and the first 4 bytes of
/// `DES(key, 00*8)` for minisrv's truncated filler block.
pub fn build_challenge(
    key: &[u8; DES_KEY_LEN],
    s: &ChallengeSecrets,
) -> [u8; MINISRV_CHALLENGE_LEN] {
    let mut plain = [0u8; 104];
    if let Some(p) = plain.get_mut(..40) {
        p.copy_from_slice(&s.echo);
    }
    if let Some(p) = plain.get_mut(40..56) {
        p.copy_from_slice(&s.session_key1);
    }
    if let Some(p) = plain.get_mut(56..72) {
        p.copy_from_slice(&s.session_key2);
    }
    if let Some(p) = plain.get_mut(72..80) {
        p.copy_from_slice(&s.new_key);
    }
    let digest = md5_concat(&[plain.get(..80).unwrap_or(&[])]);
    if let Some(p) = plain.get_mut(80..96) {
        p.copy_from_slice(&digest);
    }
    des_ecb(key, &mut plain, true);
    let mut out = [0u8; MINISRV_CHALLENGE_LEN];
    if let Some(p) = out.get_mut(..CHALLENGE_ID_LEN) {
        p.copy_from_slice(&s.id);
    }
    if let Some(p) = out.get_mut(CHALLENGE_ID_LEN..) {
        p.copy_from_slice(plain.get(..100).unwrap_or(&[0; 100]));
    }
    wipe(&mut plain);
    out
}

/// Derive the RC4 key for one direction: `MD5(session_key || BE32(incarnation) || session_key)`.
pub fn rc4_key(session_key: &[u8; SESSION_KEY_LEN], incarnation: u32) -> [u8; 16] {
    md5_concat(&[session_key, &incarnation.to_be_bytes(), session_key])
}

/// Decode standard base64 (canonical padding, zero trailing bits) into `out`, returning the
/// decoded length.
pub fn b64_decode(text: &[u8], out: &mut [u8]) -> Result<usize, SecError> {
    base64ct::Base64::decode(text, out)
        .map(|d| d.len())
        .map_err(|_| SecError::Base64)
}

/// Encode bytes as standard base64 into `out`, returning the encoded length.
pub fn b64_encode(data: &[u8], out: &mut [u8]) -> Result<usize, SecError> {
    base64ct::Base64::encode(data, out)
        .map(str::len)
        .map_err(|_| SecError::Base64)
}

/// Decode a base64 DES key (`wtv-initial-key`).
pub fn decode_des_key(text: &[u8]) -> Result<[u8; DES_KEY_LEN], SecError> {
    let mut buf = [0u8; 16];
    let n = b64_decode(text, &mut buf)?;
    let mut key = [0u8; DES_KEY_LEN];
    if n != DES_KEY_LEN {
        wipe(&mut buf);
        return Err(SecError::KeyLength);
    }
    key.copy_from_slice(buf.get(..DES_KEY_LEN).unwrap_or(&[0; 8]));
    wipe(&mut buf);
    Ok(key)
}

/// Answer a base64 `wtv-challenge` with the current key: write the base64 response into `out`
/// (96 bytes) and return the recovered secrets (whose `new_key` becomes the current key).
pub fn answer_challenge_b64(
    key: &[u8; DES_KEY_LEN],
    challenge_b64: &[u8],
    out: &mut [u8; 96],
) -> Result<ChallengeSecrets, SecError> {
    let secrets = open_challenge_b64(key, challenge_b64)?;
    challenge_response_b64(&secrets, out)?;
    Ok(secrets)
}

/// Open a base64 `wtv-challenge` with the current key and return the recovered secrets.
pub fn open_challenge_b64(
    key: &[u8; DES_KEY_LEN],
    challenge_b64: &[u8],
) -> Result<ChallengeSecrets, SecError> {
    let mut raw = [0u8; MAX_CHALLENGE_LEN];
    let n = b64_decode(challenge_b64, &mut raw).map_err(|_| SecError::ChallengeLength)?;
    let secrets = open_challenge(key, raw.get(..n).unwrap_or(&[]));
    wipe(&mut raw);
    secrets
}

/// Write the base64 challenge response for `s` into `out` (96 bytes).
pub fn challenge_response_b64(s: &ChallengeSecrets, out: &mut [u8; 96]) -> Result<(), SecError> {
    let mut resp = challenge_response(s);
    let r = b64_encode(&resp, out);
    wipe(&mut resp);
    r.map(drop)
}

/// Hold the two RC4 streams of one SECURE connection; both run on across requests.
pub struct SecureStreams {
    c2s: Rc4<U16>,
    s2c: Rc4<U16>,
}

impl core::fmt::Debug for SecureStreams {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecureStreams { .. }")
    }
}

impl SecureStreams {
    /// Key fresh streams for `incarnation` from the two session keys.
    pub fn new(session_key1: &[u8; 16], session_key2: &[u8; 16], incarnation: u32) -> Self {
        let mut k1 = rc4_key(session_key1, incarnation);
        let mut k2 = rc4_key(session_key2, incarnation);
        let s = Self::from_rc4_keys(&k1, &k2);
        wipe(&mut k1);
        wipe(&mut k2);
        s
    }

    /// Key fresh streams directly from derived RC4 keys (key1 client→server, key2 server→client).
    pub fn from_rc4_keys(key1: &[u8; 16], key2: &[u8; 16]) -> Self {
        use rc4::KeyInit as _;
        SecureStreams {
            c2s: Rc4::new(key1.into()),
            s2c: Rc4::new(key2.into()),
        }
    }

    /// Apply the client→server keystream in place (encrypt on the client, decrypt on the server).
    pub fn apply_c2s(&mut self, data: &mut [u8]) {
        self.c2s.apply_keystream(data);
    }

    /// Apply the server→client keystream in place (decrypt on the client, encrypt on the server).
    pub fn apply_s2c(&mut self, data: &mut [u8]) {
        self.s2c.apply_keystream(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_challenge_is_rejected() {
        assert_eq!(
            open_challenge(&[0; 8], &[0; 103]).err(),
            Some(SecError::ChallengeLength)
        );
    }

    #[test]
    fn built_challenge_opens_and_wrong_key_fails_digest() {
        let s = ChallengeSecrets {
            id: [1; 8],
            echo: [2; 40],
            session_key1: [3; 16],
            session_key2: [4; 16],
            new_key: [5; 8],
        };
        let c = build_challenge(b"minisrv!", &s);
        let opened = open_challenge(b"minisrv!", &c).ok();
        assert_eq!(opened.as_ref(), Some(&s));
        assert_eq!(
            open_challenge(b"minisrv?", &c).err(),
            Some(SecError::ChallengeDigest)
        );
    }
}
