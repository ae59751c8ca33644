//! Encode→parse round trips for every command type in both directions, at the limits of each
//! field, plus property tests over generated lines.
use msntv_messenger::msnp::wire::{
    escape, AckMode, Args, ClientCommand, Direction, FrameReader, ListKind, ServerCommand, Status,
    TrId, WireError,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn variant<T: std::fmt::Debug>(c: &T) -> String {
    format!("{c:?}")
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Split `bytes` (line CRLF [payload]) into line and payload as a reader in `dir` would.
fn frame(dir: Direction, bytes: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut r = Box::new(FrameReader::<8192>::new(dir));
    assert_eq!(r.push(bytes), bytes.len());
    let f = r.next_frame().expect("one frame").expect("frames");
    let out = (f.line.to_vec(), f.payload.map(<[u8]>::to_vec));
    assert!(
        r.next_frame().is_none(),
        "exactly one frame in {:?}",
        String::from_utf8_lossy(bytes)
    );
    out
}

fn server_round_trip(bytes: &[u8]) -> String {
    let (line, payload) = frame(Direction::ServerToClient, bytes);
    let cmd = ServerCommand::parse_parts(&line, payload.as_deref())
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(bytes)));
    let mut out = vec![0u8; cmd.buffer_len()];
    assert_eq!(cmd.emit(&mut out), Ok(bytes.len()));
    assert_eq!(out, bytes, "{cmd:?}");
    if !out.is_empty() {
        assert_eq!(
            cmd.emit(&mut out[..bytes.len() - 1]),
            Err(WireError::BufferTooSmall)
        );
    }
    variant(&cmd)
}

fn client_round_trip(bytes: &[u8]) -> String {
    let (line, payload) = frame(Direction::ClientToServer, bytes);
    let cmd = ClientCommand::parse_parts(&line, payload.as_deref())
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(bytes)));
    let mut out = vec![0u8; cmd.buffer_len()];
    assert_eq!(cmd.emit(&mut out), Ok(bytes.len()));
    assert_eq!(out, bytes, "{cmd:?}");
    assert_eq!(
        cmd.emit(&mut out[..bytes.len() - 1]),
        Err(WireError::BufferTooSmall)
    );
    variant(&cmd)
}

fn name387() -> String {
    "%20".repeat(129)
}

fn handle129() -> String {
    format!("{}@example.com", "h".repeat(129 - 12))
}

fn server_lines() -> Vec<Vec<u8>> {
    let n = name387();
    let h = handle129();
    let g = "g".repeat(61);
    let max = u32::MAX;
    let mut v: Vec<String> = vec![
        "VER 1 MSNP8".into(),
        "VER 4294967295 MSNP7 MSNP6 CVR0".into(),
        "VER 3 0".into(),
        "INF 3 MD5".into(),
        "CVR 2 2.8 2.8 2.8 https://escargot.log1p.xyz https://escargot.log1p.xyz".into(),
        "CVR 2 5.0.0544".into(),
        "USR 4 MD5 S a11ce5a17a11ce5".into(),
        "USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1".into(),
        "USR 3 CTP S".into(),
        format!("USR 5 OK {h} {n}"),
        "USR 5 OK alice@example.com Alice 1".into(),
        "USR 4 OK alice@example.com Alice 1 0".into(),
        "XFR 3 NS 207.46.106.145:1863".into(),
        "XFR 3 NS 207.46.106.145:1863 0".into(),
        "XFR 0 NS 207.46.106.145:1863 0 207.46.104.20:1863".into(),
        "XFR 10 SB 127.0.0.1:1864 CKI 843c024fff553b8acc71".into(),
        "OUT".into(),
        "OUT OTH".into(),
        "SYN 6 1".into(),
        format!("SYN 18 {max} 150 30"),
        "LST 6 BL 1 0 0".into(),
        format!("LST 6 AL {max} 1 2 {h} {n}"),
        "LST 21 FL 1 1 2 bob@example.com Bob%20Builder 0,1,29".into(),
        format!("LST {h} {n} 15 0,29"),
        "LST carol@example.com Carol 11".into(),
        format!("LSG 21 1 1 3 0 Other%20Contacts 0"),
        format!("LSG 29 {g} 0"),
        "GTC A".into(),
        "GTC 13 6 N".into(),
        "BLP AL".into(),
        "BLP 10 4 BL".into(),
        "PRP 1 MBE Y".into(),
        "PRP 10 4 PHM 555%200300".into(),
        "PRP 10 4 PHW".into(),
        "PRP MOB N".into(),
        "BPR 1 MOB Y".into(),
        "BPR 4 alice@example.com PHH".into(),
        "BPR 2 bob@example.com PHH 555%200100".into(),
        "BPR PHH 1%20(222)%203333".into(),
        format!("ADD 0 RL 2 {h} {n}"),
        "ADD 12 FL 8 dave@example.com Dave%20Again 29".into(),
        "REM 0 RL 5 alice@example.com".into(),
        "REM 17 FL 6 carol@example.com 2".into(),
        format!("ADG 8 2 {g} 29 0"),
        "RMG 20 7 3".into(),
        "REG 12 4 2 Office 0".into(),
        format!("REA 8 2 alice@example.com {n}"),
        "CHG 10 BRB".into(),
        format!("CHG 0 HDN {max}"),
        "ILN 7 NLN bob@example.com Bob%20Builder".into(),
        "ILN 12 XYZ dave@example.com Dave 0".into(),
        "NLN AWY alice@example.com Alice 1342177280".into(),
        "NLN IDL alice@example.com Alice".into(),
        "FLN alice@example.com".into(),
        "QNG".into(),
        "QNG 50".into(),
        "CHL 0 15570131571988941333".into(),
        "QRY 7".into(),
        "IMS 16 0 OFF".into(),
        "URL 19 /unused1 /unused2 1".into(),
        "URL 15 /cgi-bin/HoTMaiL https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033".into(),
        "SND 21 OK".into(),
        "SDC 21 OK".into(),
        "FND 22 1 1 fname=Bob lname=Builder city=* state=* country=US".into(),
        "RNG 346c2370a7ed126455d50ffb80105e2 127.0.0.1:1864 CKI 8a9589a7934ab4d2e0dc alice@example.com Alice".into(),
        "CAL 2 RINGING 346c2370a7ed126455d50ffb80105e2".into(),
        "ANS 1 OK".into(),
        "JOI alice@example.com Alice".into(),
        format!("IRO 1 1 {max} {h} {n}"),
        "ACK 2".into(),
        "NAK 4294967295".into(),
        "BYE alice@example.com".into(),
        "BYE alice@example.com 1".into(),
        "911 5".into(),
        "217 2".into(),
        "500".into(),
        "999 0 extra params".into(),
        "UBX alice@example.com 42".into(),
        "png".into(),
    ];
    let mut out: Vec<Vec<u8>> = v
        .drain(..)
        .map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    let mime =
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHi \xc3\xab".to_vec();
    for (line, p) in [
        ("MSG Hotmail Hotmail", mime.clone()),
        ("MSG alice@example.com Alice", Vec::new()),
        ("NOT", b"<NOTIFICATION/>\r\n".to_vec()),
        ("IPG", b"<NOTIFICATION/>".to_vec()),
        ("MSG bob@example.com Bob", vec![b'\n'; 8000]),
    ] {
        let mut b = format!("{line} {}\r\n", p.len()).into_bytes();
        b.extend_from_slice(&p);
        out.push(b);
    }
    out
}

fn client_lines() -> Vec<Vec<u8>> {
    let n = name387();
    let h = handle129();
    let g = "g".repeat(61);
    let mut v: Vec<String> = vec![
        "VER 1 MSNP8 CVR0".into(),
        "VER 4294967295 MSNP7 MSNP6 MSNP5 MSNP4 MSNP3 MSNP2 CVR0".into(),
        "INF 3".into(),
        "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8".into(),
        "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv".into(),
        format!("CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv {h}"),
        format!("USR 3 TWN I {h}"),
        "USR 4 MD5 S 09737575b514aacd386bf2db61d46607".into(),
        format!("USR 4 TWN S t={}&p=", "x".repeat(600)),
        "USR 1 alice@example.com 1c3ebe256a35d2bb9feb".into(),
        "XFR 10 SB".into(),
        "OUT".into(),
        "SYN 6 0".into(),
        "SYN 6 4294967295".into(),
        "LST 7 RL".into(),
        "LSG 8".into(),
        "GTC 13 N".into(),
        "BLP 10 BL".into(),
        "PRP 15 PHW".into(),
        "PRP 10 PHM 555%200300".into(),
        format!("ADD 10 BL {h} {n}"),
        "ADD 14 FL carol@example.com Carol 29".into(),
        "ADD 15 AL nobody".into(),
        "REM 11 BL dave@example.com".into(),
        "REM 17 FL carol@example.com 2".into(),
        format!("ADG 10 {g} 0"),
        "RMG 18 29".into(),
        format!("REG 12 2 {g} 0"),
        format!("REA 8 alice@example.com {n}"),
        "CHG 10 BRB".into(),
        "CHG 10 NLN 0".into(),
        "CHG 10 BRB 4294967295".into(),
        "PNG".into(),
        "IMS 16 OFF".into(),
        "URL 19 INBOX".into(),
        "URL 15 COMPOSE bob@example.com".into(),
        "SND 17 friend@example.org 0x0409 MSMSGS MSMSGS".into(),
        "FND 22 fname=Bob lname=* city=* state=* country=*".into(),
        "CAL 2 alice@example.com".into(),
        "ANS 1 alice@example.com 1d402335b52462c2d0a8 96fc22346cfdf6d556de8253e42e953".into(),
        "XYZ 7 hello".into(),
        "url 8 INBOX".into(),
    ];
    let mut out: Vec<Vec<u8>> = v
        .drain(..)
        .map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    let typing = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: tvuser@webtv.net\r\n\r\n\r\n".to_vec();
    for (line, p) in [
        (
            "QRY 7 msmsgs@msnmsgr.com",
            b"3b6666b60157322b6fc6e41a115968f5".to_vec(),
        ),
        (
            "SDC 9 friend@example.org 0x0409 MSMSGS MSMSGS X X Alice",
            Vec::new(),
        ),
        (
            "SDC 9 friend@example.org 0x0409 MSMSGS MSMSGS X X Alice",
            b"note".to_vec(),
        ),
        (
            "PAG 20 bob@example.com",
            b"<TEXT xml:space=\"preserve\">hi</TEXT>".to_vec(),
        ),
        ("MSG 2 U", typing.clone()),
        ("MSG 3 N", vec![b'x'; 1664]),
        ("MSG 4 A", Vec::new()),
        ("MSG 5 D", b"x".to_vec()),
    ] {
        let mut b = format!("{line} {}\r\n", p.len()).into_bytes();
        b.extend_from_slice(&p);
        out.push(b);
    }
    out
}

const SERVER_VARIANTS: &[&str] = &[
    "Ver",
    "Inf",
    "Cvr",
    "UsrAuth",
    "UsrOk",
    "XfrNs",
    "XfrSb",
    "Out",
    "Syn",
    "Lst",
    "LstContact",
    "Lsg",
    "LsgGroup",
    "Gtc",
    "Blp",
    "Prp",
    "Bpr",
    "Add",
    "Rem",
    "Adg",
    "Rmg",
    "Reg",
    "Rea",
    "Chg",
    "Iln",
    "Nln",
    "Fln",
    "Qng",
    "Chl",
    "Qry",
    "Ims",
    "Url",
    "Snd",
    "Sdc",
    "Fnd",
    "Not",
    "Ipg",
    "Msg",
    "Rng",
    "Cal",
    "Ans",
    "Joi",
    "Iro",
    "Ack",
    "Nak",
    "Bye",
    "Error",
    "Unknown",
];

const CLIENT_VARIANTS: &[&str] = &[
    "Ver", "Inf", "Cvr", "UsrAuth", "UsrSb", "Xfr", "Out", "Syn", "Lst", "Lsg", "Gtc", "Blp",
    "Prp", "Add", "Rem", "Adg", "Rmg", "Reg", "Rea", "Chg", "Png", "Qry", "Ims", "Url", "Snd",
    "Sdc", "Fnd", "Pag", "Msg", "Cal", "Ans", "Unknown",
];

#[test]
fn every_server_command_round_trips_at_its_limits() {
    let seen: BTreeSet<String> = server_lines()
        .iter()
        .map(|l| server_round_trip(l))
        .collect();
    let want: BTreeSet<String> = SERVER_VARIANTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, want);
}

#[test]
fn every_client_command_round_trips_at_its_limits() {
    let seen: BTreeSet<String> = client_lines()
        .iter()
        .map(|l| client_round_trip(l))
        .collect();
    let want: BTreeSet<String> = CLIENT_VARIANTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, want);
}

#[test]
fn typed_commands_encode_then_parse_back() {
    let trid = TrId::new(u32::MAX).unwrap();
    let mut name = [0u8; 387];
    let len = escape::encode_friendly_name(&" ".repeat(129), &mut name).unwrap();
    let cmds = [
        ClientCommand::Add {
            trid,
            list: ListKind::Forward,
            handle: b"a@b.c",
            nickname: Some(&name[..len]),
            group: Some(29),
            rest: Args::empty(),
        },
        ClientCommand::Chg {
            trid,
            status: Status::Hidden,
            client_id: Some(0),
            rest: Args::empty(),
        },
        ClientCommand::Msg {
            trid,
            ack: AckMode::Acknowledged,
            payload: b"MIME-Version: 1.0\r\n\r\n",
        },
        ClientCommand::Qry {
            trid,
            product_id: b"msmsgs@msnmsgr.com",
            payload: &[b'0'; 32],
        },
        ClientCommand::Png {
            rest: Args::empty(),
        },
    ];
    for c in cmds {
        let mut out = vec![0u8; c.buffer_len()];
        let n = c.emit(&mut out).unwrap();
        let (line, payload) = frame(Direction::ClientToServer, &out[..n]);
        assert_eq!(
            ClientCommand::parse_parts(&line, payload.as_deref()).unwrap(),
            c
        );
    }
    let s = ServerCommand::Msg {
        sender: b"Hotmail",
        name: b"Hotmail",
        payload: b"x\r\n",
    };
    let mut out = [0u8; 64];
    let n = s.emit(&mut out).unwrap();
    assert_eq!(&out[..n], b"MSG Hotmail Hotmail 3\r\nx\r\n");
}

#[test]
fn encoders_refuse_values_that_would_break_the_line() {
    let trid = TrId::new(1).unwrap();
    let mut out = [0u8; 64];
    for bad in [&b""[..], b"a b", b"a\n"] {
        let c = ClientCommand::Rea {
            trid,
            handle: b"a@b",
            name: bad,
            rest: Args::empty(),
        };
        assert_eq!(c.emit(&mut out), Err(WireError::BadValue));
    }
}

#[test]
fn malformed_known_commands_are_typed_errors() {
    use WireError::*;
    let cases: &[(&[u8], WireError)] = &[
        (b"", BadVerb),
        (b"X", BadVerb),
        (b"ADD 9 FL", MissingArg),
        (b"REM 10", MissingArg),
        (b"ADD 17 XL bob@example.com Bob", BadArg),
        (b"ADD 0 FL a@b a", BadTrId),
        (b"SYN x 0", BadTrId),
        (b"CHG 1 TOOLONG", BadArg),
        (b"MSG 2 Q 0", BadLength),
        (b"RMG 1 one", BadArg),
    ];
    for (line, err) in cases {
        assert_eq!(
            ClientCommand::parse_parts(line, None).err(),
            Some(*err),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(
        ClientCommand::parse_parts(b"MSG 2 X 0", Some(b"")).err(),
        Some(BadArg)
    );
    assert_eq!(
        ServerCommand::parse_parts(b"MSG a b 3", Some(b"xy")).err(),
        Some(BadLength)
    );
    assert_eq!(
        ServerCommand::parse_parts(b"USR 4 OK a@b A 2", None).err(),
        Some(BadArg)
    );
    assert_eq!(
        ServerCommand::parse_parts(b"XFR 4 XX a", None).err(),
        Some(BadArg)
    );
    assert_eq!(
        ServerCommand::parse_parts(b"LST a@b A x", None).err(),
        Some(BadArg)
    );
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        Just("0".to_string()),
        Just("4294967295".to_string()),
        Just("4294967296".to_string()),
        prop::sample::select(vec![
            "FL", "AL", "BL", "RL", "NLN", "HDN", "OK", "NS", "SB", "CKI", "MD5", "TWN", "S", "I",
            "A", "U", "N"
        ])
        .prop_map(str::to_string),
        "[a-z]{1,8}@[a-z]{1,5}\\.com",
        "[A-Za-z%0-9,.:=]{1,12}",
    ]
}

fn verb() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "VER", "INF", "CVR", "USR", "XFR", "SYN", "LST", "LSG", "GTC", "BLP", "BPR", "PRP",
            "ADD", "REM", "ADG", "RMG", "REG", "REA", "CHG", "ILN", "NLN", "FLN", "PNG", "QNG",
            "CHL", "QRY", "IMS", "URL", "SND", "SDC", "FND", "NOT", "PAG", "IPG", "OUT", "MSG",
            "RNG", "ANS", "CAL", "JOI", "IRO", "ACK", "NAK", "BYE", "911", "201"
        ])
        .prop_map(str::to_string),
        "[A-Z]{3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever parses re-encodes to the same canonical bytes, which parse to the same command.
    #[test]
    fn parse_then_emit_is_identity_on_canonical_lines(
        v in verb(),
        toks in prop::collection::vec(token(), 0..9),
        payload in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let line = std::iter::once(v).chain(toks).collect::<Vec<_>>().join(" ");
        let mut with_len = line.clone();
        with_len.push_str(&format!(" {}", payload.len()));
        for (l, p) in [(line.as_bytes(), None), (with_len.as_bytes(), Some(&payload[..]))] {
            if let Ok(c) = ServerCommand::parse_parts(l, p) {
                let mut out = vec![0u8; c.buffer_len()];
                let n = c.emit(&mut out).unwrap();
                let mut want = l.to_vec();
                want.extend_from_slice(b"\r\n");
                want.extend_from_slice(c.payload().unwrap_or(&[]));
                prop_assert_eq!(&out[..n], &want[..]);
                prop_assert_eq!(ServerCommand::parse_parts(l, c.payload()).unwrap(), c);
            }
            if let Ok(c) = ClientCommand::parse_parts(l, p) {
                let mut out = vec![0u8; c.buffer_len()];
                let n = c.emit(&mut out).unwrap();
                let mut want = l.to_vec();
                want.extend_from_slice(b"\r\n");
                want.extend_from_slice(c.payload().unwrap_or(&[]));
                prop_assert_eq!(&out[..n], &want[..]);
            }
        }
    }

    /// No byte string makes the parsers or the framer panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), piece in 1usize..17) {
        let _ = ServerCommand::parse_parts(&bytes, Some(&bytes));
        let _ = ClientCommand::parse_parts(&bytes, None);
        for dir in [Direction::ServerToClient, Direction::ClientToServer] {
            let mut r = FrameReader::<32>::new(dir);
            for mut c in bytes.chunks(piece) {
                loop {
                    let n = r.push(c);
                    c = &c[n..];
                    while let Some(f) = r.next_frame() {
                        if let Ok(f) = f {
                            let _ = ServerCommand::parse(&f);
                            let _ = ClientCommand::parse(&f);
                        } else if r.is_failed() {
                            break;
                        }
                    }
                    if c.is_empty() || r.is_failed() { break; }
                }
            }
        }
    }

    /// %-encoding round-trips any text and never exceeds `encoded_len`.
    #[test]
    fn escape_round_trips(s in any::<String>()) {
        let mut enc = vec![0u8; escape::encoded_len(&s)];
        let n = escape::encode(&s, &mut enc).unwrap();
        prop_assert_eq!(n, enc.len());
        prop_assert!(!enc.contains(&b' ') && !enc.contains(&b'\r') && !enc.contains(&b'\n'));
        let mut dec = vec![0u8; escape::decoded_len(&enc)];
        let m = escape::decode(&enc, &mut dec).unwrap();
        prop_assert_eq!(&dec[..m], s.as_bytes());
    }
}
