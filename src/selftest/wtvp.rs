//! WTVP suites: WTVSec challenge/response and RC4 vectors, LZPF streams, and recorded
//! messengerlogin replies (suites `wtvsec`, `lzpf`, `wtvp_login`).

use super::{check, Failure, Reporter};
use crate::auth::md5_concat;
use crate::wtvp::login::{self, AnswerMode, LoginAnswer, LoginError};
use crate::wtvp::lzpf::{self, LzpfScratch};
use crate::wtvp::message::{parse_head, Status};
use crate::wtvp::sec::{self, SecureStreams};

/// One challenge: decrypting it with `key` must give the listed secrets and `response`.
#[derive(Debug, Clone, Copy)]
pub struct ChallengeVector<'a> {
    /// Case name.
    pub name: &'a str,
    /// DES key that encrypted the challenge.
    pub key: &'a [u8],
    /// The decoded `wtv-challenge`.
    pub challenge: &'a [u8],
    /// The expected decoded `wtv-challenge-response`.
    pub response: &'a [u8],
    /// Expected session key 1.
    pub session_key1: &'a [u8],
    /// Expected session key 2.
    pub session_key2: &'a [u8],
    /// Expected new shared key.
    pub new_key: &'a [u8],
    /// Whether re-encrypting the secrets must reproduce `challenge` exactly (minisrv layout).
    pub rebuild: bool,
}

/// One RC4 key derivation.
#[derive(Debug, Clone, Copy)]
pub struct Rc4KeyVector<'a> {
    /// Case name.
    pub name: &'a str,
    /// Session key 1.
    pub session_key1: &'a [u8],
    /// Session key 2.
    pub session_key2: &'a [u8],
    /// The incarnation.
    pub incarnation: u32,
    /// Expected RC4 key 1.
    pub key1: &'a [u8],
    /// Expected RC4 key 2.
    pub key2: &'a [u8],
}

/// One RC4 stream run over consecutive chunks with one state.
#[derive(Debug, Clone, Copy)]
pub struct Rc4StreamVector<'a> {
    /// Case name.
    pub name: &'a str,
    /// The RC4 key.
    pub key: &'a [u8],
    /// Whether this is the client→server direction (else server→client).
    pub c2s: bool,
    /// `(plaintext, ciphertext)` chunks in order.
    pub chunks: &'a [(&'a [u8], &'a [u8])],
}

/// One LZPF stream.
#[derive(Debug, Clone, Copy)]
pub struct LzpfVector<'a> {
    /// Case name.
    pub name: &'a str,
    /// The compressed stream.
    pub compressed: &'a [u8],
    /// The uncompressed length (`Content-length`).
    pub expected_len: usize,
    /// MD5 of the expected output.
    pub expected_md5: [u8; 16],
    /// Whether the stream must decode (false: a documented encoder defect that must be rejected).
    pub expect_ok: bool,
}

/// What a recorded messengerlogin reply must turn into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginExpect<'a> {
    /// An answer with these bytes (32 hex digits or a ticket).
    Answer(&'a [u8]),
    /// A 200 without a usable answer.
    NoAnswer,
    /// A non-200 status.
    Server(u16),
}

/// One recorded messengerlogin exchange.
#[derive(Debug, Clone, Copy)]
pub struct LoginVector<'a> {
    /// Case name.
    pub name: &'a str,
    /// The challenge (query) sent, if the request had one.
    pub challenge: &'a [u8],
    /// Whether the exchange ran over SECURE ON.
    pub secure: bool,
    /// RC4 key 1 (client→server) and its stream offset.
    pub key1: &'a [u8],
    /// Bytes of the key-1 stream used before this request.
    pub c2s_offset: usize,
    /// RC4 key 2 (server→client).
    pub key2: &'a [u8],
    /// Bytes of the key-2 stream used before this response.
    pub s2c_offset: usize,
    /// The request as plaintext (request line, headers, empty line).
    pub request_plain: &'a [u8],
    /// The request bytes on the wire after the SECURE ON block (encrypted if secure).
    pub request_wire: &'a [u8],
    /// The response bytes on the wire.
    pub response_wire: &'a [u8],
    /// The expected outcome.
    pub expect: LoginExpect<'a>,
}

fn key16(k: &[u8]) -> Result<[u8; 16], Failure> {
    k.try_into().map_err(|_| Failure::new("16-byte key"))
}

fn check_challenge(v: &ChallengeVector<'_>) -> Result<(), Failure> {
    let key: [u8; 8] = v
        .key
        .try_into()
        .map_err(|_| Failure::new("8-byte DES key"))?;
    let s = sec::open_challenge(&key, v.challenge).map_err(|_| Failure::new("challenge opens"))?;
    check(&s.session_key1[..] == v.session_key1, "session key 1")?;
    check(&s.session_key2[..] == v.session_key2, "session key 2")?;
    check(&s.new_key[..] == v.new_key, "new shared key")?;
    check(
        &sec::challenge_response(&s)[..] == v.response,
        "challenge response",
    )?;
    if v.rebuild {
        check(
            &sec::build_challenge(&key, &s)[..] == v.challenge,
            "rebuilt challenge",
        )?;
    }
    // Through base64, as the client sees it.
    let mut b64 = [0u8; 512];
    let n = sec::b64_encode(v.challenge, &mut b64).map_err(|_| Failure::new("base64 encode"))?;
    let mut resp = [0u8; 96];
    sec::answer_challenge_b64(&key, b64.get(..n).unwrap_or(&[]), &mut resp)
        .map_err(|_| Failure::new("b64 answer"))?;
    let mut expect = [0u8; 96];
    let m = sec::b64_encode(v.response, &mut expect).map_err(|_| Failure::new("base64 encode"))?;
    check(m == 96 && resp == expect, "base64 response")?;
    // A flipped bit anywhere in the secret must break the digest check.
    let mut bad = [0u8; sec::MAX_CHALLENGE_LEN];
    let c = bad
        .get_mut(..v.challenge.len())
        .ok_or(Failure::new("challenge fits"))?;
    c.copy_from_slice(v.challenge);
    if let Some(b) = c.get_mut(20) {
        *b ^= 0x40;
    }
    check(
        sec::open_challenge(&key, c).is_err(),
        "corrupt challenge rejected",
    )
}

/// Run the WTVSec vectors: challenges, RC4 key derivations and RC4 streams.
pub fn run_wtvsec(
    challenges: &[ChallengeVector<'_>],
    keys: &[Rc4KeyVector<'_>],
    streams: &[Rc4StreamVector<'_>],
    r: &mut impl Reporter,
) {
    for v in challenges {
        r.case("wtvsec", v.name, check_challenge(v));
    }
    for v in keys {
        let res = (|| {
            let s1 = key16(v.session_key1)?;
            let s2 = key16(v.session_key2)?;
            check(&sec::rc4_key(&s1, v.incarnation)[..] == v.key1, "rc4 key 1")?;
            check(&sec::rc4_key(&s2, v.incarnation)[..] == v.key2, "rc4 key 2")
        })();
        r.case("wtvsec", v.name, res);
    }
    for v in streams {
        let res = (|| {
            let k = key16(v.key)?;
            let mut s = SecureStreams::from_rc4_keys(&k, &k);
            for (plain, cipher) in v.chunks {
                let mut buf = [0u8; 512];
                let b = buf
                    .get_mut(..plain.len())
                    .ok_or(Failure::new("chunk fits"))?;
                b.copy_from_slice(plain);
                if v.c2s {
                    s.apply_c2s(b);
                } else {
                    s.apply_s2c(b);
                }
                check(&b[..] == *cipher, "ciphertext chunk")?;
            }
            Ok(())
        })();
        r.case("wtvsec", v.name, res);
    }
}

/// Run the LZPF vectors with the streaming decoder (works for any output size).
pub fn run_lzpf(vectors: &[LzpfVector<'_>], scratch: &mut LzpfScratch, r: &mut impl Reporter) {
    for v in vectors {
        let mut h = md5::Context::new();
        let mut n = 0usize;
        let res = lzpf::decompress_streaming(scratch, v.compressed, v.expected_len, |chunk| {
            h.consume(chunk);
            n = n.saturating_add(chunk.len());
        });
        let digest: [u8; 16] = h.compute().0;
        let outcome = match res {
            Ok(d) => check(v.expect_ok, "stream decodes")
                .and_then(|()| check(d.consumed == v.compressed.len(), "consumed whole stream"))
                .and_then(|()| {
                    check(
                        n == v.expected_len && digest == v.expected_md5,
                        "output matches",
                    )
                }),
            Err(_) => check(!v.expect_ok, "defective stream rejected"),
        };
        // Every proper prefix must be reported as truncated, not as corrupt (small streams only).
        let outcome = outcome.and_then(|()| {
            if !v.expect_ok || v.compressed.len() > 64 {
                return Ok(());
            }
            for cut in 0..v.compressed.len() {
                let p = v.compressed.get(..cut).unwrap_or(&[]);
                let e = lzpf::decompress_streaming(scratch, p, v.expected_len, |_| {});
                check(e == Err(lzpf::LzpfError::Truncated), "prefix is truncated")?;
            }
            Ok(())
        });
        r.case("lzpf", v.name, outcome);
    }
}

fn check_login(v: &LoginVector<'_>) -> Result<(), Failure> {
    let mut streams = if v.secure {
        let k1 = key16(v.key1)?;
        let k2 = key16(v.key2)?;
        let mut s = SecureStreams::from_rc4_keys(&k1, &k2);
        let mut skip = [0u8; 64];
        let (mut a, mut b) = (v.c2s_offset, v.s2c_offset);
        while a > 0 || b > 0 {
            let x = a.min(64);
            s.apply_c2s(skip.get_mut(..x).unwrap_or(&mut []));
            let y = b.min(64);
            s.apply_s2c(skip.get_mut(..y).unwrap_or(&mut []));
            a -= x;
            b -= y;
        }
        Some(s)
    } else {
        None
    };
    // Request: our bytes for this challenge must equal the recorded plaintext when the recorded
    // request is the plain messengerlogin form; the wire must be its encryption.
    let mut req = [0u8; 1024];
    let rn = v.request_plain.len();
    let rq = req.get_mut(..rn).ok_or(Failure::new("request fits"))?;
    rq.copy_from_slice(v.request_plain);
    if v.request_plain
        .starts_with(b"GET wtv-passport:/messengerlogin?")
        && v.request_plain
            .ends_with(b"\r\nwtv-request-type: primary\r\n\r\n")
    {
        let mut ours = [0u8; 1024];
        let n = login::write_request(b"wtv-passport:/messengerlogin", v.challenge, &mut ours)
            .map_err(|_| Failure::new("request builds"))?;
        check(ours.get(..n) == Some(v.request_plain), "request bytes")?;
    }
    if let Some(s) = streams.as_mut() {
        s.apply_c2s(rq);
    }
    check(
        v.request_wire.get(..rn) == Some(&rq[..]),
        "request wire bytes",
    )?;

    // Response.
    let Ok(Status::Complete(head)) = parse_head(v.response_wire) else {
        return Err(Failure::new("response head parses"));
    };
    let mut body = [0u8; 2048];
    let wire_body = v.response_wire.get(head.head_len..).unwrap_or(&[]);
    let b = body
        .get_mut(..wire_body.len())
        .ok_or(Failure::new("body fits"))?;
    b.copy_from_slice(wire_body);
    if let Some(s) = streams.as_mut() {
        s.apply_s2c(b);
    }
    if !head.lzpf {
        check(
            head.content_length == Some(b.len()),
            "content-length = body length",
        )?;
    }
    let mut plain = [0u8; 2048];
    let mode = login::answer_mode(v.challenge);
    let outcome = login::plain_body(b, head.lzpf, head.content_length, &mut plain)
        .and_then(|p| login::interpret(mode, head.status, head.reason, p));
    match (outcome, v.expect) {
        (Ok(LoginAnswer::Md5(a)), LoginExpect::Answer(e)) => {
            check(a[..] == *e && mode == AnswerMode::Md5, "md5 answer")
        }
        (Ok(LoginAnswer::Ticket(t)), LoginExpect::Answer(e)) => {
            check(t == e && mode == AnswerMode::Ticket, "ticket")
        }
        (Err(LoginError::NoAnswer), LoginExpect::NoAnswer) => Ok(()),
        (Err(LoginError::Server { status, .. }), LoginExpect::Server(s)) => {
            check(status == s, "server status")
        }
        _ => Err(Failure::new("outcome matches the recording")),
    }
}

/// Run recorded messengerlogin exchanges through request building, RC4, LZPF and interpretation.
pub fn run_login(vectors: &[LoginVector<'_>], r: &mut impl Reporter) {
    for v in vectors {
        r.case("wtvp_login", v.name, check_login(v));
    }
}

/// Return the MD5 of `data` (helper for table builders).
pub fn md5_of(data: &[u8]) -> [u8; 16] {
    md5_concat(&[data])
}
