//! Every WTVP vector file (`$MSNTV_WTVP_VECTORS_DIR`, default `../shared/vectors/wtvp`) through the
//! shared selftest suites `wtvsec`, `lzpf` and `wtvp_login`, plus the LZPF slice decoder.
use msntv_messenger::selftest::wtvp::{
    self as st, ChallengeVector, LoginExpect, LoginVector, LzpfVector, Rc4KeyVector,
    Rc4StreamVector,
};
use msntv_messenger::selftest::{Failure, Reporter, Tally};
use msntv_messenger::wtvp::lzpf;
use msntv_testdata::wtvp::{load_vectors, Expect, Vectors};

/// A tally that also prints failures.
#[derive(Default)]
struct Loud(Tally);

impl Reporter for Loud {
    fn case(&mut self, suite: &str, case: &str, result: Result<(), Failure>) {
        if let Err(f) = &result {
            eprintln!("FAIL {suite} {case}: {}", f.what);
        }
        self.0.case(suite, case, result);
    }
}

fn vectors() -> Vectors {
    let v = load_vectors(&msntv_testdata::wtvp_vectors_dir());
    assert!(v.files > 0, "no vector files");
    v
}

#[test]
fn wtvsec_vectors_pass() {
    let v = vectors();
    let ch: Vec<ChallengeVector<'_>> = v
        .challenges
        .iter()
        .map(|c| ChallengeVector {
            name: &c.name,
            key: &c.key,
            challenge: &c.challenge,
            response: &c.response,
            session_key1: &c.session_key1,
            session_key2: &c.session_key2,
            new_key: &c.new_key,
            rebuild: c.rebuild,
        })
        .collect();
    let keys: Vec<Rc4KeyVector<'_>> = v
        .rc4_keys
        .iter()
        .map(|k| Rc4KeyVector {
            name: &k.name,
            session_key1: &k.session_key1,
            session_key2: &k.session_key2,
            incarnation: k.incarnation,
            key1: &k.key1,
            key2: &k.key2,
        })
        .collect();
    let chunks: Vec<Vec<(&[u8], &[u8])>> = v
        .rc4_streams
        .iter()
        .map(|s| s.chunks.iter().map(|(p, c)| (&p[..], &c[..])).collect())
        .collect();
    let streams: Vec<Rc4StreamVector<'_>> = v
        .rc4_streams
        .iter()
        .zip(&chunks)
        .map(|(s, c)| Rc4StreamVector {
            name: &s.name,
            key: &s.key,
            c2s: s.c2s,
            chunks: c,
        })
        .collect();
    let mut t = Loud::default();
    st::run_wtvsec(&ch, &keys, &streams, &mut t);
    assert_eq!(t.0.failed, 0);
    assert_eq!(t.0.passed as usize, ch.len() + keys.len() + streams.len());
    assert!(ch.len() >= 3 && !keys.is_empty() && !streams.is_empty());
}

#[test]
fn lzpf_vectors_pass_streaming_and_slice() {
    let v = vectors();
    let vecs: Vec<LzpfVector<'_>> = v
        .lzpf
        .iter()
        .map(|l| LzpfVector {
            name: &l.name,
            compressed: &l.compressed,
            expected_len: l.expected.len(),
            expected_md5: st::md5_of(&l.expected),
            expect_ok: l.expect_ok,
        })
        .collect();
    let mut scratch = Box::new(lzpf::LzpfScratch::new());
    let mut t = Loud::default();
    st::run_lzpf(&vecs, &mut scratch, &mut t);
    assert_eq!(t.0.failed, 0);
    assert_eq!(t.0.passed as usize, vecs.len());
    // The slice decoder agrees with the expected output wherever it decodes.
    for l in &v.lzpf {
        let mut out = vec![0u8; l.expected.len()];
        let r = lzpf::decompress(&l.compressed, l.expected.len(), &mut out);
        if l.expect_ok {
            assert_eq!(r.map(|d| d.consumed), Ok(l.compressed.len()), "{}", l.name);
            assert_eq!(out, l.expected, "{}", l.name);
        } else {
            assert!(r.is_err(), "{}", l.name);
        }
        // A buffer one byte short is a capacity error, never a panic.
        if !l.expected.is_empty() {
            let mut short = vec![0u8; l.expected.len() - 1];
            assert_eq!(
                lzpf::decompress(&l.compressed, l.expected.len(), &mut short),
                Err(lzpf::LzpfError::Capacity)
            );
        }
    }
}

#[test]
fn huffman_table_matches_the_shared_table() {
    let v = vectors();
    let lens = v.huffman_lengths.expect("a Huffman table file");
    assert_eq!(&lens[..], &lzpf::CODE_LENGTHS[..]);
}

#[test]
fn messengerlogin_vectors_pass() {
    let v = vectors();
    let vecs: Vec<LoginVector<'_>> = v
        .logins
        .iter()
        .map(|l| LoginVector {
            name: &l.name,
            challenge: &l.challenge,
            secure: l.secure,
            key1: &l.key1,
            c2s_offset: l.c2s_offset,
            key2: &l.key2,
            s2c_offset: l.s2c_offset,
            request_plain: &l.request_plain,
            request_wire: &l.request_wire,
            response_wire: &l.response_wire,
            expect: match &l.expect {
                Expect::Answer(a) => LoginExpect::Answer(a),
                Expect::NoAnswer => LoginExpect::NoAnswer,
                Expect::Server(s) => LoginExpect::Server(*s),
            },
        })
        .collect();
    let mut t = Loud::default();
    st::run_login(&vecs, &mut t);
    assert_eq!(t.0.failed, 0);
    assert_eq!(t.0.passed as usize, vecs.len());
    assert!(!vecs.is_empty());
}
