//! The notification session's receive side inside the client facade: it frames its lines in a
//! small buffer of its own and finishes longer frames (the login profile `MSG`) in the
//! large-frame buffer the switchboards share, in the same queue as they; while another
//! connection holds that buffer, the NS takes no input (`Client::input_paused`), and nothing
//! is lost once the caller offers the bytes again.

use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::limits::NS_RX_BUFFER;
use msntv_messenger::msnp::ns::session::{MAX_LST_LINE, MAX_NS_LINE};
use msntv_messenger::msnp::ns::{
    version_range, Contact, Group, NsConfig, NsEvent, NsMessageKind, NsSession,
};
use msntv_messenger::msnp::sb::session::{RX_CAP, SESSION_RX_CAP, TOKEN_CAP};
use msntv_messenger::msnp::sb::{ConversationId, ConversationSlot, MessageSlot, SbEvent};
use msntv_messenger::wtvp::headwaiter::HOST_CAP;
use msntv_messenger::Instant;
use msntv_testdata::escargot::{self, Dir};

const NOW: Instant = Instant::ZERO;

/// The first login profile `MSG` (line and payload) the recorded Escargot NS sent.
fn recorded_profile() -> Vec<u8> {
    for t in escargot::load() {
        for (conn, desc) in &t.connections {
            if !desc.starts_with("Notification Server") {
                continue;
            }
            let s = t.stream(conn, Dir::S2c);
            let Some(at) = s.windows(20).position(|w| w == b"MSG Hotmail Hotmail ") else {
                continue;
            };
            let rest = &s[at..];
            let lf = rest.iter().position(|&b| b == b'\n').expect("line end");
            let line = std::str::from_utf8(&rest[..lf]).expect("ascii").trim_end();
            let len: usize = line.rsplit(' ').next().unwrap().parse().expect("length");
            return rest[..lf + 1 + len].to_vec();
        }
    }
    panic!("no recorded profile MSG");
}

/// What the caller saw.
#[derive(Debug, Default)]
struct Log {
    profile: Vec<Vec<u8>>,
    sb_texts: Vec<(ConversationId, Vec<u8>)>,
    skipped: u32,
    connects: Vec<ConnId>,
    sent: Vec<(ConnId, Vec<u8>)>,
}

struct H {
    client: Client<'static>,
    log: Log,
}

impl H {
    fn new() -> H {
        let mut ns = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
        ns.versions = version_range(7, 7);
        let cfg = ClientConfig::new(ns, LoginMode::Password(b"alice123"));
        let client = Client::new(
            cfg,
            ClientStorage {
                contacts: Box::leak(vec![Contact::EMPTY; 8].into_boxed_slice()),
                groups: Box::leak(vec![Group::EMPTY; 4].into_boxed_slice()),
                names: Box::leak(vec![0u8; 1024].into_boxed_slice()),
                conversations: Box::leak((0..3).map(|_| ConversationSlot::new()).collect()),
                messages: Box::leak((0..4).map(|_| MessageSlot::new()).collect()),
                message_bytes: Box::leak(vec![0u8; 4096].into_boxed_slice()),
                large_frame: Box::leak(vec![0u8; RX_CAP].into_boxed_slice()),
            },
            NOW,
        )
        .expect("client");
        H {
            client,
            log: Log::default(),
        }
    }

    fn drain(&mut self) {
        let mut out = [0u8; 4096];
        while let Some((conn, n)) = self.client.poll_transmit(&mut out) {
            self.log.sent.push((conn, out[..n].to_vec()));
        }
        while let Some(ev) = self.client.poll_event() {
            match ev {
                ClientEvent::Connect { conn, .. } => self.log.connects.push(conn),
                ClientEvent::Ns(NsEvent::ServerMessage {
                    kind: NsMessageKind::Profile,
                    payload,
                }) => self.log.profile.push(payload.to_vec()),
                ClientEvent::Ns(NsEvent::FrameSkipped { .. }) => self.log.skipped += 1,
                ClientEvent::Sb(SbEvent::Message {
                    conversation, text, ..
                }) => self.log.sb_texts.push((conversation, text.to_vec())),
                ClientEvent::Sb(SbEvent::MessageSkipped { .. }) => self.log.skipped += 1,
                _ => {}
            }
        }
    }

    /// Offer `pending` on `conn` as a caller keeping the contract does; return how many
    /// bytes were taken.
    fn offer(&mut self, conn: ConnId, pending: &mut Vec<u8>) -> usize {
        let k = self.client.handle_input(NOW, conn, pending).expect("input");
        assert!(k <= pending.len());
        pending.drain(..k);
        self.drain();
        k
    }

    /// Give `conn` the first 900 bytes of the long message `msg` (all taken: it now holds the
    /// shared buffer); return the rest of the message.
    fn offer_half(&mut self, conn: ConnId, msg: &[u8]) -> Vec<u8> {
        let mut head = msg[..900].to_vec();
        assert_eq!(self.offer(conn, &mut head), 900);
        msg[900..].to_vec()
    }

    /// Feed all of `bytes` on `conn` (nothing may stay paused).
    fn feed_all(&mut self, conn: ConnId, bytes: &[u8]) {
        let mut pending = bytes.to_vec();
        for _ in 0..10_000 {
            if pending.is_empty() {
                return;
            }
            self.offer(conn, &mut pending);
        }
        panic!("{conn:?} never took its input");
    }

    /// Sign in (MSNP7, MD5) with empty lists.
    fn sign_in(&mut self) {
        self.client.sign_in(NOW).expect("sign in");
        self.drain();
        self.client.handle_connected(NOW, ConnId::Ns).expect("up");
        let server = "VER 1 MSNP7\r\nCVR 2 2.8 2.8 2.8 http://x http://x\r\nINF 3 MD5\r\n\
            USR 4 MD5 S 1013928519.693957190\r\nUSR 5 OK alice@example.com Alice 1\r\n\
            SYN 6 1\r\nGTC 6 1 A\r\nBLP 6 1 AL\r\nLST 6 FL 1 0 0\r\nLST 6 AL 1 0 0\r\n\
            LST 6 BL 1 0 0\r\nLST 6 RL 1 0 0\r\nCHG 7 NLN\r\n";
        for line in server.split_inclusive("\r\n") {
            self.drain();
            self.feed_all(ConnId::Ns, line.as_bytes());
        }
        self.drain();
        assert!(self.client.is_online(), "signed in");
    }

    /// Accept an invitation and bring its switchboard up with bob in it.
    fn conversation(&mut self, n: u32) -> ConversationId {
        let before = self.log.connects.len();
        let rng = format!("RNG {n}1 127.0.0.1:1864 CKI 849102291.{n} bob@example.com Bob\r\n");
        self.feed_all(ConnId::Ns, rng.as_bytes());
        let conn = *self.log.connects[before..]
            .iter()
            .find(|c| matches!(c, ConnId::Sb(_)))
            .expect("switchboard connect");
        let ConnId::Sb(conv) = conn else {
            unreachable!()
        };
        self.client.handle_connected(NOW, conn).expect("sb up");
        self.drain();
        self.feed_all(conn, b"IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n");
        conv
    }
}

/// A switchboard `MSG` of about `frame_len` bytes carrying `fill` as plain text.
fn sb_msg(frame_len: usize, fill: u8) -> (Vec<u8>, Vec<u8>) {
    let prefix = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";
    let head = "MSG bob@example.com Bob 0000\r\n".len();
    let body = vec![fill; frame_len - head - prefix.len()];
    let mut payload = prefix.to_vec();
    payload.extend_from_slice(&body);
    let mut f = format!("MSG bob@example.com Bob {}\r\n", payload.len()).into_bytes();
    f.extend_from_slice(&payload);
    (f, body)
}

#[test]
fn the_ns_buffer_holds_the_longest_ns_line() {
    const { assert!(NS_RX_BUFFER >= MAX_NS_LINE && MAX_NS_LINE >= MAX_LST_LINE) };
    assert_eq!(MAX_NS_LINE, 728);
    // An `RNG` at every limit: tokens at the switchboard's cap, the longest host, handle and
    // name. A session with the box's buffer (and no shared one) reads it whole.
    let host = "h".repeat(HOST_CAP);
    let session = "s".repeat(TOKEN_CAP);
    let cookie = "c".repeat(TOKEN_CAP);
    let handle = format!("{}@x.com", "p".repeat(123));
    let name = "%20".repeat(129);
    let line = format!("RNG {session} {host}:65535 CKI {cookie} {handle} {name}\r\n");
    assert_eq!(line.len(), MAX_NS_LINE);
    let mut cfg = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    cfg.versions = version_range(7, 7);
    let mut contacts = [Contact::EMPTY; 2];
    let mut groups = [Group::EMPTY; 1];
    let mut names = [0u8; 512];
    let mut s: NsSession<'_> = NsSession::new(cfg, &mut contacts, &mut groups, &mut names);
    s.start(NOW).unwrap();
    s.handle_connected(NOW);
    while s.poll_event().is_some() {}
    let mut rest = line.as_bytes();
    let mut invited = false;
    while !rest.is_empty() {
        let n = s.handle_input(NOW, rest).expect("input");
        rest = &rest[n..];
        while let Some(ev) = s.poll_event() {
            if let NsEvent::Invitation { inviter, .. } = ev {
                invited = inviter == handle.as_bytes();
            }
        }
    }
    assert!(invited, "the longest RNG is read whole");
}

#[test]
fn the_profile_msg_waits_for_a_switchboard_holding_the_buffer_then_arrives_whole() {
    let profile = recorded_profile();
    assert!(profile.len() > NS_RX_BUFFER && profile.len() <= RX_CAP);
    let mut h = H::new();
    h.sign_in();
    let conv = h.conversation(1);
    let sb = ConnId::Sb(conv);
    // The switchboard gets half of a long message: it holds the shared buffer.
    let (big, body) = sb_msg(1800, b'A');
    assert!(big.len() > SESSION_RX_CAP);
    let mut sb_pending = h.offer_half(sb, &big);
    assert_eq!(h.client.conversations().large_frame_holder(), Some(conv));
    // The NS's profile arrives: the NS takes its line and what fits its own buffer, then
    // pauses, however often it is offered the rest.
    let mut ns_pending = profile.clone();
    h.offer(ConnId::Ns, &mut ns_pending);
    assert!(!ns_pending.is_empty());
    assert!(h.client.input_paused(ConnId::Ns));
    assert!(!h.client.input_paused(sb));
    for _ in 0..3 {
        assert_eq!(h.offer(ConnId::Ns, &mut ns_pending), 0);
    }
    assert!(h.log.profile.is_empty());
    // Other small NS lines behind the profile wait too (they follow it on the connection).
    ns_pending.extend_from_slice(b"CHG 8 BSY\r\n");
    // The switchboard finishes its message; its event is handed out.
    while !sb_pending.is_empty() {
        assert!(h.offer(sb, &mut sb_pending) > 0);
    }
    assert_eq!(h.log.sb_texts, vec![(conv, body)]);
    // The NS gets the buffer at its next offer and the profile comes through whole.
    while !ns_pending.is_empty() {
        assert!(h.offer(ConnId::Ns, &mut ns_pending) > 0);
    }
    assert!(!h.client.input_paused(ConnId::Ns));
    let payload_at = profile.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(h.log.profile, vec![profile[payload_at..].to_vec()]);
    assert_eq!(h.log.skipped, 0);
    // Once its event was polled the NS gives the buffer back: another long message goes
    // straight through on the switchboard.
    let (big2, body2) = sb_msg(1500, b'B');
    h.feed_all(sb, &big2);
    assert_eq!(h.log.sb_texts.last(), Some(&(conv, body2)));
}

#[test]
fn a_switchboard_waits_while_the_ns_holds_the_buffer() {
    let profile = recorded_profile();
    let mut h = H::new();
    h.sign_in();
    let conv = h.conversation(1);
    let sb = ConnId::Sb(conv);
    // The NS gets most of its profile: it holds the shared buffer.
    let mut ns_pending = profile.clone();
    let mut ns_head: Vec<u8> = ns_pending.drain(..1000).collect();
    assert_eq!(h.offer(ConnId::Ns, &mut ns_head), 1000);
    assert!(!h.client.input_paused(ConnId::Ns));
    // A long switchboard message now waits.
    let (big, body) = sb_msg(1700, b'C');
    let mut sb_pending = big.clone();
    h.offer(sb, &mut sb_pending);
    assert!(!sb_pending.is_empty());
    assert!(h.client.input_paused(sb));
    assert_eq!(h.client.conversations().large_frame_holder(), None);
    // The NS finishes; the switchboard resumes at its next offer.
    while !ns_pending.is_empty() {
        assert!(h.offer(ConnId::Ns, &mut ns_pending) > 0);
    }
    assert_eq!(h.log.profile.len(), 1);
    while !sb_pending.is_empty() {
        assert!(h.offer(sb, &mut sb_pending) > 0);
    }
    assert_eq!(h.log.sb_texts, vec![(conv, body)]);
}

#[test]
fn the_ns_closing_while_it_holds_the_buffer_gives_it_back() {
    let profile = recorded_profile();
    let mut h = H::new();
    h.sign_in();
    let conv = h.conversation(1);
    let sb = ConnId::Sb(conv);
    let mut ns_head: Vec<u8> = profile[..1000].to_vec();
    assert_eq!(h.offer(ConnId::Ns, &mut ns_head), 1000);
    let (big, body) = sb_msg(1700, b'D');
    let mut sb_pending = big.clone();
    h.offer(sb, &mut sb_pending);
    assert!(h.client.input_paused(sb));
    // The NS connection drops in the middle of its long frame.
    h.client.handle_closed(NOW, ConnId::Ns);
    h.drain();
    assert!(!h.client.input_paused(ConnId::Ns));
    while !sb_pending.is_empty() {
        assert!(
            h.offer(sb, &mut sb_pending) > 0,
            "the switchboard is not stuck"
        );
    }
    assert_eq!(h.log.sb_texts, vec![(conv, body)]);
    assert!(h.log.profile.is_empty());
}

#[test]
fn the_ns_closing_while_it_waits_gives_up_its_turn() {
    let profile = recorded_profile();
    let mut h = H::new();
    h.sign_in();
    let a = h.conversation(1);
    let b = h.conversation(2);
    let (sa, sb) = (ConnId::Sb(a), ConnId::Sb(b));
    // A holds the buffer with half a long message.
    let (big_a, body_a) = sb_msg(1800, b'E');
    let mut pa = h.offer_half(sa, &big_a);
    // The NS is refused first, then B.
    let mut ns_pending = profile.clone();
    h.offer(ConnId::Ns, &mut ns_pending);
    assert!(h.client.input_paused(ConnId::Ns));
    let (big_b, body_b) = sb_msg(1700, b'F');
    let mut pb = big_b.clone();
    h.offer(sb, &mut pb);
    assert!(h.client.input_paused(sb));
    // The NS connection drops while it waits: its bytes are dropped with it.
    h.client.handle_closed(NOW, ConnId::Ns);
    h.drain();
    assert!(!h.client.input_paused(ConnId::Ns));
    // A finishes; B, next in line now, gets the buffer.
    while !pa.is_empty() {
        assert!(h.offer(sa, &mut pa) > 0);
    }
    while !pb.is_empty() {
        assert!(
            h.offer(sb, &mut pb) > 0,
            "B is not stuck behind the closed NS"
        );
    }
    assert_eq!(h.log.sb_texts, vec![(a, body_a), (b, body_b)]);
}

#[test]
fn an_ns_frame_longer_than_the_shared_buffer_is_skipped_and_reported() {
    let mut h = H::new();
    h.sign_in();
    let payload = vec![b'x'; RX_CAP + 100];
    let mut frame = format!("MSG Hotmail Hotmail {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(b"CHG 8 BSY\r\n");
    h.feed_all(ConnId::Ns, &frame);
    assert_eq!(h.log.skipped, 1);
    assert!(!h.client.input_paused(ConnId::Ns));
    assert_eq!(
        h.client.ns().status(),
        msntv_messenger::msnp::wire::Status::Busy
    );
}

#[test]
fn profile_msgs_byte_by_byte_alongside_long_switchboard_messages_lose_nothing() {
    let profile = recorded_profile();
    let mut h = H::new();
    h.sign_in();
    let conv = h.conversation(1);
    let sb = ConnId::Sb(conv);
    let (big, body) = sb_msg(1900, b'G');
    let mut ns_all: Vec<u8> = [profile.clone(), profile.clone(), profile.clone()].concat();
    let mut sb_all: Vec<u8> = [big.clone(), big.clone(), big.clone()].concat();
    // Interleave one-byte arrivals; each connection keeps what it was refused.
    let (mut ns_held, mut sb_held) = (Vec::new(), Vec::new());
    let mut rounds = 0;
    while !(ns_all.is_empty() && sb_all.is_empty() && ns_held.is_empty() && sb_held.is_empty()) {
        rounds += 1;
        assert!(rounds < 100_000, "stuck");
        if !ns_all.is_empty() {
            ns_held.push(ns_all.remove(0));
        }
        if !sb_all.is_empty() {
            sb_held.push(sb_all.remove(0));
        }
        if !ns_held.is_empty() {
            h.offer(ConnId::Ns, &mut ns_held);
        }
        if !sb_held.is_empty() {
            h.offer(sb, &mut sb_held);
        }
    }
    let payload_at = profile.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(h.log.profile, vec![profile[payload_at..].to_vec(); 3]);
    assert_eq!(h.log.sb_texts, vec![(conv, body); 3]);
    assert_eq!(h.log.skipped, 0);
}

#[test]
fn a_waiting_ns_takes_the_buffer_when_its_turn_comes_even_before_more_bytes() {
    let profile = recorded_profile();
    let mut h = H::new();
    h.sign_in();
    let a = h.conversation(1);
    let b = h.conversation(2);
    let (sa, sb) = (ConnId::Sb(a), ConnId::Sb(b));
    let (big_a, body_a) = sb_msg(1800, b'H');
    let mut pa = h.offer_half(sa, &big_a);
    // The NS takes the profile's line, then waits: the NS is first in line.
    let mut ns_pending = profile.clone();
    let k = h.offer(ConnId::Ns, &mut ns_pending);
    assert!(k > 0 && !ns_pending.is_empty());
    assert!(h.client.input_paused(ConnId::Ns));
    // A finishes; the NS's turn has come, and it takes the buffer when the client is polled,
    // without being fed: B's long message, queued after it, waits.
    while !pa.is_empty() {
        assert!(h.offer(sa, &mut pa) > 0);
    }
    h.drain();
    assert_eq!(h.client.large_frame_holder(), Some(ConnId::Ns));
    assert!(!h.client.input_paused(ConnId::Ns));
    let (big_b, body_b) = sb_msg(1700, b'I');
    let mut pb = big_b.clone();
    h.offer(sb, &mut pb);
    assert!(h.client.input_paused(sb));
    while !ns_pending.is_empty() {
        assert!(h.offer(ConnId::Ns, &mut ns_pending) > 0);
    }
    while !pb.is_empty() {
        assert!(h.offer(sb, &mut pb) > 0);
    }
    assert_eq!(h.log.profile.len(), 1);
    assert_eq!(h.log.sb_texts, vec![(a, body_a), (b, body_b)]);
}
