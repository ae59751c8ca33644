//! Wire layer over every Escargot recording in `$MSNTV_ESCARGOT_DIR` (default
//! `../shared/transcripts/escargot`): the shared `selftest::wire` suite, plus host-only property
//! tests (random split points).
mod common;

use common::{borrowed, loaded, Collect};
use msntv_messenger::msnp::wire::{Direction, FrameReader, ServerCommand};
use msntv_messenger::selftest::wire;
use msntv_testdata::escargot;
use proptest::prelude::*;
use std::sync::OnceLock;

#[test]
fn every_escargot_connection_passes_the_wire_suite() {
    let ts = borrowed();
    assert!(!ts.is_empty(), "no transcripts found");
    let mut r = Collect::default();
    wire::run(ts, &mut r);
    assert!(
        r.failed.is_empty(),
        "{} failures:\n{}",
        r.failed.len(),
        r.failed.join("\n")
    );
    assert!(r.passed > 0);
    eprintln!("wire suite: {} cases passed", r.passed);
}

/// Every MSNP server stream (concatenated), one per connection.
fn server_streams() -> &'static [(String, Vec<u8>)] {
    static S: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut v = Vec::new();
        for t in loaded() {
            for (conn, _) in &t.connections {
                if t.is_msnp(conn) {
                    v.push((
                        format!("{}/{conn}", t.name),
                        t.stream(conn, escargot::Dir::S2c),
                    ));
                }
            }
        }
        v
    })
}

type Frames = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn frame_all(stream: &[u8], cuts: &[usize]) -> Frames {
    let mut r = Box::new(FrameReader::<4096>::new(Direction::ServerToClient));
    let mut out = Vec::new();
    let mut pieces = Vec::new();
    let mut start = 0;
    for &c in cuts {
        let c = c.min(stream.len());
        if c > start {
            pieces.push(&stream[start..c]);
            start = c;
        }
    }
    pieces.push(&stream[start..]);
    for mut p in pieces {
        loop {
            let n = r.push(p);
            p = &p[n..];
            while let Some(f) = r.next_frame() {
                let f = f.expect("no framing error");
                ServerCommand::parse(&f).expect("server frame parses");
                out.push((f.line.to_vec(), f.payload.map(<[u8]>::to_vec)));
            }
            if p.is_empty() {
                break;
            }
        }
    }
    assert_eq!(r.buffered(), 0);
    out
}

#[test]
fn every_server_stream_frames_identically_byte_by_byte() {
    for (name, s) in server_streams() {
        let whole = frame_all(s, &[]);
        let cuts: Vec<usize> = (1..s.len()).collect();
        assert_eq!(frame_all(s, &cuts), whole, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_split_of_any_server_stream_gives_the_same_frames(
        which in any::<prop::sample::Index>(),
        mut cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let streams = server_streams();
        let (name, s) = &streams[which.index(streams.len())];
        let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(s.len().max(1))).collect();
        cuts.sort_unstable();
        prop_assert_eq!(frame_all(s, &cuts), frame_all(s, &[]), "{}", name);
    }
}

/// Every verb of MSNP2–8 (both directions).
const KNOWN: &[&[u8]] = &[
    b"VER", b"INF", b"CVR", b"USR", b"XFR", b"SYN", b"LST", b"LSG", b"GTC", b"BLP", b"BPR", b"PRP",
    b"ADD", b"REM", b"ADG", b"RMG", b"REG", b"REA", b"CHG", b"ILN", b"NLN", b"FLN", b"PNG", b"QNG",
    b"CHL", b"QRY", b"IMS", b"URL", b"SND", b"SDC", b"FND", b"NOT", b"PAG", b"IPG", b"OUT", b"MSG",
    b"RNG", b"ANS", b"CAL", b"JOI", b"IRO", b"ACK", b"NAK", b"BYE",
];

#[test]
fn server_lines_of_known_verbs_are_typed_never_unknown() {
    let mut typed = 0;
    for (name, s) in server_streams() {
        let mut r = Box::new(FrameReader::<4096>::new(Direction::ServerToClient));
        let mut p = &s[..];
        loop {
            let n = r.push(p);
            p = &p[n..];
            while let Some(f) = r.next_frame() {
                let f = f.unwrap();
                match ServerCommand::parse(&f).unwrap() {
                    ServerCommand::Unknown { verb, .. } => {
                        assert!(
                            !KNOWN.contains(&verb),
                            "{name}: known verb {:?} parsed as Unknown",
                            String::from_utf8_lossy(verb)
                        )
                    }
                    _ => typed += 1,
                }
            }
            if p.is_empty() {
                break;
            }
        }
    }
    assert!(typed > 0);
    eprintln!("{typed} typed server commands");
}
