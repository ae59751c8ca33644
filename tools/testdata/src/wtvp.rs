//! WTVP vectors (`$MSNTV_WTVP_VECTORS_DIR`) and sessions (`$MSNTV_WTVP_TRANSCRIPTS_DIR`).
//!
//! Every `*.json` file in the vector directory is read and recognised by its content
//! (`cases` with `wtv_challenge_hex` → WTVSec; `vectors` with `compressed_hex` → LZPF; `cases`
//! with `response_wire_hex` → messengerlogin; `handshakes` → login handshakes), so new files of
//! the same shapes run without code changes. Expectations come from the files themselves.

use serde_json::Value;
use std::path::Path;

use crate::unhex;

/// An owned challenge vector.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Case name.
    pub name: String,
    /// DES key.
    pub key: Vec<u8>,
    /// Decoded challenge.
    pub challenge: Vec<u8>,
    /// Decoded expected response.
    pub response: Vec<u8>,
    /// Session key 1.
    pub session_key1: Vec<u8>,
    /// Session key 2.
    pub session_key2: Vec<u8>,
    /// New shared key.
    pub new_key: Vec<u8>,
    /// Whether the challenge has minisrv's 108-byte layout.
    pub rebuild: bool,
}

/// An owned RC4 key vector.
#[derive(Debug, Clone)]
pub struct Rc4Key {
    /// Case name.
    pub name: String,
    /// Session key 1.
    pub session_key1: Vec<u8>,
    /// Session key 2.
    pub session_key2: Vec<u8>,
    /// Incarnation.
    pub incarnation: u32,
    /// RC4 key 1.
    pub key1: Vec<u8>,
    /// RC4 key 2.
    pub key2: Vec<u8>,
}

/// An owned RC4 stream vector.
#[derive(Debug, Clone)]
pub struct Rc4Stream {
    /// Case name.
    pub name: String,
    /// Key.
    pub key: Vec<u8>,
    /// Client→server direction.
    pub c2s: bool,
    /// (plaintext, ciphertext) chunks.
    pub chunks: Vec<(Vec<u8>, Vec<u8>)>,
}

/// An owned LZPF vector.
#[derive(Debug, Clone)]
pub struct Lzpf {
    /// Case name.
    pub name: String,
    /// Compressed stream.
    pub compressed: Vec<u8>,
    /// Expected output.
    pub expected: Vec<u8>,
    /// Whether the stream must decode.
    pub expect_ok: bool,
}

/// What a recorded reply must turn into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// An answer with these bytes.
    Answer(Vec<u8>),
    /// A 200 with no usable answer.
    NoAnswer,
    /// A non-200 status.
    Server(u16),
}

/// An owned messengerlogin vector.
#[derive(Debug, Clone)]
pub struct Login {
    /// Case name.
    pub name: String,
    /// Challenge.
    pub challenge: Vec<u8>,
    /// SECURE connection.
    pub secure: bool,
    /// RC4 key 1.
    pub key1: Vec<u8>,
    /// Key-1 stream offset.
    pub c2s_offset: usize,
    /// RC4 key 2.
    pub key2: Vec<u8>,
    /// Key-2 stream offset.
    pub s2c_offset: usize,
    /// Plain request.
    pub request_plain: Vec<u8>,
    /// Request wire bytes after any SECURE ON block.
    pub request_wire: Vec<u8>,
    /// Response wire bytes.
    pub response_wire: Vec<u8>,
    /// Expected outcome.
    pub expect: Expect,
}

/// Everything loaded from the vector directory.
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    /// Challenge vectors (WTVSec and login handshakes).
    pub challenges: Vec<Challenge>,
    /// RC4 key vectors.
    pub rc4_keys: Vec<Rc4Key>,
    /// RC4 stream vectors.
    pub rc4_streams: Vec<Rc4Stream>,
    /// LZPF vectors.
    pub lzpf: Vec<Lzpf>,
    /// Huffman code lengths from a table file, if present.
    pub huffman_lengths: Option<Vec<u8>>,
    /// messengerlogin vectors.
    pub logins: Vec<Login>,
    /// Number of files read.
    pub files: usize,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn h(v: &Value, k: &str) -> Vec<u8> {
    unhex(v.get(k).and_then(Value::as_str).unwrap_or_default())
}

fn b64(v: &Value, k: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(v.get(k).and_then(Value::as_str).unwrap_or_default())
        .expect("base64 field")
}

fn arr<'v>(v: &'v Value, k: &str) -> &'v [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// Load every JSON file in `dir`.
pub fn load_vectors(dir: &Path) -> Vectors {
    let mut out = Vectors::default();
    for path in crate::files_with_suffix(dir, ".json") {
        let text = std::fs::read_to_string(&path).expect("read vector file");
        let doc: Value = serde_json::from_str(&text).expect("vector JSON");
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        out.files += 1;
        for c in arr(&doc, "cases") {
            if c.get("wtv_challenge_hex").is_some() {
                load_wtvsec_case(&stem, c, &mut out);
            } else if c.get("response_wire_hex").is_some() {
                load_login_case(&stem, c, &mut out);
            }
        }
        for v in arr(&doc, "vectors") {
            if v.get("compressed_hex").is_some() {
                let expected = h(v, "input_hex");
                let expect_ok = s(v, "kind") != "encoder corner case";
                out.lzpf.push(Lzpf {
                    name: format!("{stem}/{}", s(v, "name")),
                    compressed: h(v, "compressed_hex"),
                    expected,
                    expect_ok,
                });
            }
        }
        for hs in arr(&doc, "handshakes") {
            load_handshake(&stem, hs, &mut out);
        }
        let syms = arr(&doc, "symbols");
        if !syms.is_empty() {
            let mut lens = vec![0u8; syms.len()];
            for sym in syms {
                let i = u(sym, "symbol") as usize;
                lens[i] = u(sym, "length") as u8;
            }
            out.huffman_lengths = Some(lens);
        }
    }
    out
}

fn load_wtvsec_case(stem: &str, c: &Value, out: &mut Vectors) {
    let name = format!("{stem}/{}", s(c, "name"));
    let derived = c.get("derived").cloned().unwrap_or_default();
    out.challenges.push(Challenge {
        name: name.clone(),
        key: h(c, "initial_shared_key_hex"),
        challenge: h(c, "wtv_challenge_hex"),
        response: h(c, "expected_wtv_challenge_response_hex"),
        session_key1: h(&derived, "session_key1_hex"),
        session_key2: h(&derived, "session_key2_hex"),
        new_key: h(&derived, "new_shared_key_hex"),
        rebuild: u(c, "wtv_challenge_len") == 108,
    });
    if let Some(ch) = c.get("chained_second_challenge") {
        let chal = b64(ch, "wtv_challenge_b64");
        out.challenges.push(Challenge {
            name: format!("{name}/chained"),
            key: h(ch, "des_key_hex"),
            rebuild: chal.len() == 108,
            challenge: chal,
            response: b64(ch, "expected_wtv_challenge_response_b64"),
            session_key1: h(ch, "session_key1_hex"),
            session_key2: h(ch, "session_key2_hex"),
            new_key: h(ch, "new_shared_key_hex"),
        });
    }
    for k in arr(c, "rc4_keys") {
        out.rc4_keys.push(Rc4Key {
            name: format!("{name}/rc4-keys/inc{}", u(k, "incarnation")),
            session_key1: h(&derived, "session_key1_hex"),
            session_key2: h(&derived, "session_key2_hex"),
            incarnation: u(k, "incarnation") as u32,
            key1: h(k, "rc4_key1_hex"),
            key2: h(k, "rc4_key2_hex"),
        });
    }
    for (i, e) in arr(c, "rc4_examples").iter().enumerate() {
        let c2s = s(e, "direction").starts_with("client_to_server");
        let key = if e.get("rc4_key_hex").is_some() {
            h(e, "rc4_key_hex")
        } else if c2s {
            h(e, "rc4_key1_hex")
        } else {
            h(e, "rc4_key2_hex")
        };
        let chunks = if e.get("chunks").is_some() {
            arr(e, "chunks")
                .iter()
                .map(|ch| (h(ch, "plaintext_hex"), h(ch, "ciphertext_hex")))
                .collect()
        } else {
            vec![(h(e, "plaintext_hex"), h(e, "ciphertext_hex"))]
        };
        out.rc4_streams.push(Rc4Stream {
            name: format!("{name}/rc4-example-{i}"),
            key,
            c2s,
            chunks,
        });
    }
}

fn load_handshake(stem: &str, hs: &Value, out: &mut Vectors) {
    let f = hs.get("challenge_fields").cloned().unwrap_or_default();
    let chal = b64(hs, "wtv_challenge_b64");
    out.challenges.push(Challenge {
        name: format!("{stem}/session-{}", s(hs, "session")),
        key: h(&f, "key_used_to_decrypt_hex"),
        rebuild: chal.len() == 108,
        challenge: chal,
        response: b64(hs, "accepted_wtv_challenge_response_b64"),
        session_key1: h(&f, "session_key1_hex"),
        session_key2: h(&f, "session_key2_hex"),
        new_key: h(&f, "new_shared_key_hex"),
    });
    // Also check the initial key decodes to the key that decrypted the first challenge.
    if let Some(fa) = hs.get("failed_first_attempt") {
        let ff = fa
            .get("challenge_decode")
            .or_else(|| fa.get("challenge_fields"))
            .cloned()
            .unwrap_or_default();
        if ff.get("key_used_to_decrypt_hex").is_some() && fa.get("correct_response_b64").is_some() {
            let chal = b64(fa, "wtv_challenge_b64");
            out.challenges.push(Challenge {
                name: format!("{stem}/session-{}/failed-first", s(hs, "session")),
                key: h(&ff, "key_used_to_decrypt_hex"),
                rebuild: chal.len() == 108,
                challenge: chal,
                response: b64(fa, "correct_response_b64"),
                session_key1: h(&ff, "session_key1_hex"),
                session_key2: h(&ff, "session_key2_hex"),
                new_key: h(&ff, "new_shared_key_hex"),
            });
        }
    }
}

fn load_login_case(stem: &str, c: &Value, out: &mut Vectors) {
    let request_plain = h(c, "request_plaintext_hex");
    let wire = h(c, "request_wire_hex");
    let request_wire = if wire.starts_with(b"SECURE ON") {
        let end = wire
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("SECURE ON block end")
            + 4;
        wire[end..].to_vec()
    } else {
        wire
    };
    let line_end = request_plain
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(request_plain.len());
    let line = &request_plain[..line_end];
    let challenge = match line.iter().position(|&b| b == b'?') {
        Some(q) => line[q + 1..].to_vec(),
        None => Vec::new(),
    };
    let response_wire = h(c, "response_wire_hex");
    let status: u16 = std::str::from_utf8(&response_wire[..3])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let body_text = c
        .get("response_body_before_compression_text")
        .or_else(|| c.get("response_body_text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let expect = if status != 200 {
        Expect::Server(status)
    } else if let Some(e) = c
        .get("expected_body")
        .or_else(|| c.get("stub_ticket"))
        .and_then(Value::as_str)
    {
        assert_eq!(
            e.as_bytes(),
            &body_text[..],
            "recorded body equals the expected answer"
        );
        Expect::Answer(e.as_bytes().to_vec())
    } else {
        Expect::NoAnswer
    };
    out.logins.push(Login {
        name: format!("{stem}/{}/{}", s(c, "case"), s(c, "source")),
        challenge,
        secure: c.get("secure").and_then(Value::as_bool).unwrap_or(false),
        key1: h(c, "rc4_key1_hex"),
        c2s_offset: u(c, "c2s_stream_offset") as usize,
        key2: h(c, "rc4_key2_hex"),
        s2c_offset: u(c, "s2c_stream_offset") as usize,
        request_plain,
        request_wire,
        response_wire,
        expect,
    });
}

/// One message of a recorded WTVP session.
#[derive(Debug, Clone)]
pub struct SessionMessage {
    /// Client to server.
    pub c2s: bool,
    /// Exact bytes on the wire.
    pub wire: Vec<u8>,
    /// For encrypted client requests: the request after RC4 decryption.
    pub decrypted: Option<Vec<u8>>,
    /// For server messages: the plain body (after RC4 and LZPF).
    pub body_plain: Vec<u8>,
}

/// One TCP connection of a recorded session.
#[derive(Debug, Clone)]
pub struct SessionConn {
    /// Host connected to.
    pub host: String,
    /// Port connected to.
    pub port: u16,
    /// What the recording says the connection was for.
    pub purpose: String,
    /// Whether it ran SECURE ON.
    pub secure: bool,
    /// Whether the server closed it after its last response.
    pub server_closed: bool,
    /// Messages in order.
    pub messages: Vec<SessionMessage>,
}

/// A recorded WTVP session (`session-*.json`).
#[derive(Debug, Clone)]
pub struct Session {
    /// File stem.
    pub name: String,
    /// The box SSID.
    pub ssid: String,
    /// Box identity headers in order.
    pub box_headers: Vec<(String, String)>,
    /// Headers sent only with preregister (derived from the recorded request).
    pub preregister_headers: Vec<(String, String)>,
    /// `Accept-Language` value (derived from the recorded request).
    pub accept_language: String,
    /// First incarnation.
    pub first_incarnation: u32,
    /// A deliberately wrong challenge response the recording sent: (sent, correct) base64.
    pub bad_response: Option<(String, String)>,
    /// Connections in the order opened.
    pub connections: Vec<SessionConn>,
}

fn split_header(line: &str) -> (String, String) {
    let (n, v) = line.split_once(':').expect("header line");
    (n.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string())
}

/// Load every `*.json` session in `dir`.
pub fn load_sessions(dir: &Path) -> Vec<Session> {
    let mut out = Vec::new();
    for path in crate::files_with_suffix(dir, ".json") {
        let text = std::fs::read_to_string(&path).expect("read session");
        let doc: Value = serde_json::from_str(&text).expect("session JSON");
        let Some(conns) = doc.get("connections").and_then(Value::as_array) else {
            continue;
        };
        let prof = doc.get("client_profile").cloned().unwrap_or_default();
        let box_headers: Vec<(String, String)> = arr(&prof, "box_headers")
            .iter()
            .filter_map(Value::as_str)
            .map(split_header)
            .collect();
        let mut connections = Vec::new();
        for c in conns {
            let messages = arr(c, "messages")
                .iter()
                .map(|m| SessionMessage {
                    c2s: s(m, "direction") == "client->server",
                    wire: h(m, "wire_hex"),
                    decrypted: m.get("decrypted_hex").map(|_| h(m, "decrypted_hex")),
                    body_plain: if m.get("body_decompressed_hex").is_some() {
                        h(m, "body_decompressed_hex")
                    } else {
                        h(m, "body_plain_hex")
                    },
                })
                .collect();
            connections.push(SessionConn {
                host: s(c, "host"),
                port: u(c, "port") as u16,
                purpose: s(c, "purpose"),
                secure: c
                    .get("secure")
                    .is_some_and(|v| !v.is_null() && v != &Value::Bool(false)),
                server_closed: c
                    .get("server_closed_after_response")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                messages,
            });
        }
        // Derive the preregister extras and Accept-Language from the first request.
        let first = &connections[0].messages[0].wire;
        let first = String::from_utf8_lossy(first).to_string();
        let mut accept_language = String::new();
        let mut preregister_headers = Vec::new();
        for line in first.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
            let (n, v) = split_header(line);
            let standard = [
                "wtv-request-type",
                "wtv-client-serial-number",
                "wtv-incarnation",
            ];
            if n == "Accept-Language" {
                accept_language = v;
            } else if !standard.contains(&n.as_str()) && !box_headers.iter().any(|(b, _)| *b == n) {
                preregister_headers.push((n, v));
            }
        }
        let bad_response = doc
            .get("derived")
            .and_then(|d| d.get("bad_first_attempt"))
            .map(|b| (s(b, "sent_response_b64"), s(b, "correct_response_b64")));
        out.push(Session {
            name: path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("?")
                .to_string(),
            ssid: s(&prof, "ssid"),
            box_headers,
            preregister_headers,
            accept_language,
            first_incarnation: u(&prof, "first_incarnation") as u32,
            bad_response,
            connections,
        });
    }
    out
}
