//! The guest network test: NE2000 + smoltcp over QEMU user-mode networking to a host service.
//!
//! Run by `ci/net-test`, which starts `ci/lib/net_echo.py` on the host's 127.0.0.1 and boots
//! this image with `-append "port=P refused=R"`. The guest connects to 10.0.2.2:P (QEMU's alias
//! for the host's loopback) and checks, each as a counted case:
//! - a connection to the free port R ends as `Failed` (QEMU relays the host's refusal);
//! - `ECHO` lines come back byte for byte;
//! - `SINK n`: the guest uploads n pseudo-random bytes, the host answers with their CRC-32;
//! - `SOURCE n seed`: the host sends n bytes of the same generator, the guest checks each;
//! - `QUIT` and a graceful close.
//!
//! It prints `N passed, N failed`, the throughput each way and `RESULT: PASSED` or `FAILED`.
#![no_std]
#![no_main]

use msntv_board_malta::net::{ConnId, ConnState, Net, NetConfig, QEMU_HOST, SOCKETS};
use msntv_board_malta::{bootargs, clock, exit, ne2000, println};

/// Bytes moved each way by the bulk cases.
const BULK: usize = 1024 * 1024;
/// Echo lines sent.
const LINES: u32 = 20;
/// Bound on every step, in guest milliseconds.
const STEP_MS: u64 = 20_000;

/// The test generator: xorshift32, four big-endian bytes per step (same as net_echo.py).
struct Gen {
    x: u32,
    buf: [u8; 4],
    used: usize,
}

impl Gen {
    fn new(seed: u32) -> Self {
        Gen {
            x: seed.max(1),
            buf: [0; 4],
            used: 4,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == 4 {
            let mut x = self.x;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.x = x;
            self.buf = x.to_be_bytes();
            self.used = 0;
        }
        let b = self.buf.get(self.used).copied().unwrap_or(0);
        self.used += 1;
        b
    }

    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            *b = self.next_byte();
        }
    }
}

struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn case(&mut self, name: &str, result: Result<(), &str>) {
        if result.is_ok() {
            println!("ok   {name}");
        }
        self.quiet_case(name, result);
    }

    /// Count a case, printing it only if it failed.
    fn quiet_case(&mut self, name: &str, result: Result<(), &str>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
}

/// Poll until `done` holds or the step's time runs out; return whether it held.
fn poll_until(net: &mut Net, mut done: impl FnMut(&mut Net) -> bool) -> bool {
    let end = clock::now_ms().saturating_add(STEP_MS);
    loop {
        net.poll(clock::now());
        if done(net) {
            return true;
        }
        if clock::now_ms() > end {
            return false;
        }
    }
}

/// Send all of `data` on `conn`, polling as the window allows.
fn send_all(net: &mut Net, conn: ConnId, data: &[u8]) -> Result<(), &'static str> {
    let mut rest = data;
    let ok = poll_until(net, |net| {
        match net.send(conn, rest) {
            Ok(n) => rest = rest.get(n..).unwrap_or(&[]),
            Err(_) => return true,
        }
        rest.is_empty()
    });
    if ok && rest.is_empty() {
        Ok(())
    } else if ok {
        Err("connection closed while sending")
    } else {
        Err("timed out sending")
    }
}

/// Read one `\n`-terminated line (without the newline) into `buf`; return its length.
fn recv_line(net: &mut Net, conn: ConnId, buf: &mut [u8]) -> Result<usize, &'static str> {
    let mut len = 0;
    let mut err = None;
    let ok = poll_until(net, |net| loop {
        let Some(slot) = buf.get_mut(len..len + 1) else {
            err = Some("line too long");
            return true;
        };
        match net.recv(conn, slot) {
            Ok(0) => return false,
            Ok(_) => {
                if slot.first() == Some(&b'\n') {
                    return true;
                }
                len += 1;
            }
            Err(_) => {
                err = Some("connection closed while reading");
                return true;
            }
        }
    });
    match (ok, err) {
        (_, Some(e)) => Err(e),
        (false, None) => Err("timed out reading a line"),
        (true, None) => Ok(len),
    }
}

struct Line<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Line<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Format a request line into `buf` and return it.
fn line<'a>(buf: &'a mut [u8], args: core::fmt::Arguments<'_>) -> &'a [u8] {
    let mut l = Line { buf, len: 0 };
    let len = if core::fmt::write(&mut l, args).is_ok() {
        l.len
    } else {
        0
    };
    buf.get(..len).unwrap_or(&[])
}

fn test_refused(net: &mut Net, port: u16) -> Result<(), &'static str> {
    let conn = ConnId::WTVP;
    net.open(conn, QEMU_HOST, port)
        .map_err(|_| "open refused")?;
    if !poll_until(net, |net| net.state(conn) != ConnState::Connecting) {
        return Err("still connecting");
    }
    match net.state(conn) {
        ConnState::Failed => Ok(()),
        _ => Err("connection to a closed port did not fail"),
    }
}

fn test_connect(net: &mut Net, port: u16) -> Result<(), &'static str> {
    let conn = ConnId::NS;
    net.open(conn, QEMU_HOST, port)
        .map_err(|_| "open refused")?;
    if !poll_until(net, |net| net.state(conn) != ConnState::Connecting) {
        return Err("timed out connecting");
    }
    match net.state(conn) {
        ConnState::Established => Ok(()),
        _ => Err("connection not established"),
    }
}

fn test_echo(net: &mut Net, i: u32) -> Result<(), &'static str> {
    let conn = ConnId::NS;
    let mut req = [0u8; 128];
    let req = line(
        &mut req,
        format_args!("ECHO line {i} from the big-endian MIPS guest\n"),
    );
    send_all(net, conn, req)?;
    let mut got = [0u8; 128];
    let n = recv_line(net, conn, &mut got)?;
    let want = req.get(5..req.len().saturating_sub(1)).unwrap_or(&[]);
    if got.get(..n) == Some(want) {
        Ok(())
    } else {
        Err("echo differs")
    }
}

fn parse_sum(line: &[u8]) -> Option<(u32, usize)> {
    let s = core::str::from_utf8(line).ok()?;
    let mut it = s.split(' ');
    if it.next()? != "SUM" {
        return None;
    }
    let crc = u32::from_str_radix(it.next()?, 16).ok()?;
    let n = it.next()?.parse().ok()?;
    Some((crc, n))
}

/// Upload BULK bytes; return the elapsed guest milliseconds.
fn test_sink(net: &mut Net, seed: u32) -> Result<u64, &'static str> {
    let conn = ConnId::NS;
    let mut req = [0u8; 64];
    send_all(net, conn, line(&mut req, format_args!("SINK {BULK}\n")))?;
    let start = clock::now_ms();
    let mut g = Gen::new(seed);
    let mut crc = crc32fast::Hasher::new();
    let mut chunk = [0u8; 1024];
    let mut sent = 0;
    while sent < BULK {
        let n = chunk.len().min(BULK - sent);
        let part = chunk.get_mut(..n).ok_or("chunk")?;
        g.fill(part);
        crc.update(part);
        send_all(net, conn, part)?;
        sent += n;
    }
    let mut got = [0u8; 64];
    let n = recv_line(net, conn, &mut got)?;
    let elapsed = clock::now_ms().saturating_sub(start);
    let (their_crc, their_len) = parse_sum(got.get(..n).unwrap_or(&[])).ok_or("bad SUM line")?;
    if their_len != BULK {
        return Err("host counted a different length");
    }
    if their_crc != crc.finalize() {
        return Err("host CRC-32 differs");
    }
    Ok(elapsed)
}

/// Download BULK bytes and check each; return the elapsed guest milliseconds.
fn test_source(net: &mut Net, seed: u32) -> Result<u64, &'static str> {
    let conn = ConnId::NS;
    let mut req = [0u8; 64];
    send_all(
        net,
        conn,
        line(&mut req, format_args!("SOURCE {BULK} {seed}\n")),
    )?;
    let start = clock::now_ms();
    let mut g = Gen::new(seed);
    let mut crc = crc32fast::Hasher::new();
    let mut got = 0usize;
    let mut bad = false;
    let mut closed = false;
    let mut chunk = [0u8; 2048];
    let ok = poll_until(net, |net| {
        while got < BULK {
            let want = chunk.len().min(BULK - got);
            let Some(dst) = chunk.get_mut(..want) else {
                return true;
            };
            match net.recv(conn, dst) {
                Ok(0) => return false,
                Ok(n) => {
                    let part = dst.get(..n).unwrap_or(&[]);
                    crc.update(part);
                    bad |= part.iter().any(|&b| b != g.next_byte());
                    got += n;
                }
                Err(_) => {
                    closed = true;
                    return true;
                }
            }
        }
        true
    });
    let elapsed = clock::now_ms().saturating_sub(start);
    let mut sum = [0u8; 64];
    let n = recv_line(net, conn, &mut sum)?;
    let (their_crc, their_len) = parse_sum(sum.get(..n).unwrap_or(&[])).ok_or("bad SUM line")?;
    match () {
        _ if closed => Err("connection closed during download"),
        _ if !ok => Err("timed out downloading"),
        _ if bad => Err("downloaded bytes differ from the generator"),
        _ if their_len != BULK || their_crc != crc.finalize() => Err("CRC-32 differs"),
        _ => Ok(elapsed),
    }
}

fn test_close(net: &mut Net) -> Result<(), &'static str> {
    let conn = ConnId::NS;
    send_all(net, conn, b"QUIT\n")?;
    let mut bye = [0u8; 16];
    let n = recv_line(net, conn, &mut bye)?;
    if bye.get(..n) != Some(b"BYE".as_slice()) {
        return Err("no BYE");
    }
    net.close(conn);
    if !poll_until(net, |net| net.state(conn) == ConnState::Closed) {
        return Err("did not reach Closed");
    }
    Ok(())
}

/// Open every slot at once, echo a different line on each, then close them all from our side.
fn test_all_slots(net: &mut Net, port: u16) -> Result<(), &'static str> {
    let conns = || (0..SOCKETS).filter_map(ConnId::new);
    for c in conns() {
        net.open(c, QEMU_HOST, port).map_err(|_| "open refused")?;
    }
    if !poll_until(net, |net| {
        conns().all(|c| net.state(c) != ConnState::Connecting)
    }) {
        return Err("timed out connecting");
    }
    if !conns().all(|c| net.state(c) == ConnState::Established) {
        return Err("not every slot connected");
    }
    for c in conns() {
        let mut req = [0u8; 64];
        let req = line(&mut req, format_args!("ECHO slot {}\n", c.index()));
        send_all(net, c, req)?;
    }
    // Read the answers in reverse order: each slot buffers its own.
    for c in conns().rev() {
        let mut want = [0u8; 64];
        let want = line(&mut want, format_args!("slot {}", c.index()));
        let mut got = [0u8; 64];
        let n = recv_line(net, c, &mut got)?;
        if got.get(..n) != Some(want) {
            return Err("an echo came back on the wrong slot");
        }
    }
    for c in conns() {
        net.close(c);
    }
    if !poll_until(net, |net| {
        conns().all(|c| net.state(c) == ConnState::Closed)
    }) {
        return Err("slots did not close");
    }
    Ok(())
}

fn kib_per_s(bytes: usize, ms: u64) -> u64 {
    (bytes as u64).saturating_mul(1000) / 1024 / ms.max(1)
}

fn finish(t: &Tally) -> ! {
    println!("{} passed, {} failed", t.passed, t.failed);
    if t.failed == 0 && t.passed > 0 {
        println!("RESULT: PASSED");
        exit::exit(exit::ExitCode::Passed)
    } else {
        println!("RESULT: FAILED ({} failures)", t.failed);
        exit::exit(exit::ExitCode::Failed)
    }
}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let prid = clock::prid();
    println!("msntv-messenger net-test on {}", clock::cpu_name(prid));
    let mut t = Tally {
        passed: 0,
        failed: 0,
    };
    let port = bootargs::get("port").and_then(|p| p.parse::<u16>().ok());
    let refused = bootargs::get("refused").and_then(|p| p.parse::<u16>().ok());
    let (Some(port), Some(refused)) = (port, refused) else {
        t.case("boot arguments", Err("need -append \"port=P refused=R\""));
        finish(&t)
    };
    let nic = match ne2000::Ne2000::malta() {
        Ok(nic) => nic,
        Err(e) => {
            println!("NE2000: {e}");
            t.case("NE2000 reset, PROM and byte-lane probe", Err("no card"));
            finish(&t)
        }
    };
    let [a, b, c, d, e, f] = nic.mac();
    println!(
        "NE2000 at 0x{:08x}: MAC {a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}, data port lanes {:?}",
        ne2000::MALTA_ISA_BASE,
        nic.lane_order()
    );
    t.case("NE2000 reset, PROM and byte-lane probe", Ok(()));
    let seed = clock::count();
    let mut net = match Net::new(nic, NetConfig::QEMU_USER, seed, clock::now()) {
        Ok(n) => n,
        Err(e) => {
            println!("net: {e}");
            t.case("interface up", Err("Net::new failed"));
            finish(&t)
        }
    };
    t.case("interface up (10.0.2.15/24 via 10.0.2.2)", Ok(()));
    t.case(
        "connection to a closed host port fails",
        test_refused(&mut net, refused),
    );
    let connected = test_connect(&mut net, port);
    let up = connected.is_ok();
    t.case("connect to 10.0.2.2 (host loopback)", connected);
    if up {
        let before = t.failed;
        for i in 0..LINES {
            t.quiet_case("echo line", test_echo(&mut net, i));
        }
        if t.failed == before {
            println!("ok   {LINES} echo lines");
        }
        match test_sink(&mut net, seed) {
            Ok(ms) => {
                println!(
                    "upload: {BULK} bytes in {ms} ms, {} KiB/s",
                    kib_per_s(BULK, ms)
                );
                t.case("upload 1 MiB, host CRC-32 matches", Ok(()));
            }
            Err(e) => t.case("upload 1 MiB, host CRC-32 matches", Err(e)),
        }
        match test_source(&mut net, seed ^ 0x5a5a_5a5a) {
            Ok(ms) => {
                println!(
                    "download: {BULK} bytes in {ms} ms, {} KiB/s",
                    kib_per_s(BULK, ms)
                );
                t.case("download 1 MiB, every byte and CRC-32 match", Ok(()));
            }
            Err(e) => t.case("download 1 MiB, every byte and CRC-32 match", Err(e)),
        }
        t.case("QUIT and graceful close", test_close(&mut net));
        t.case(
            "six connections at once, echo on each, close from our side",
            test_all_slots(&mut net, port),
        );
        let reopened = test_connect(&mut net, port).and_then(|()| test_echo(&mut net, 0));
        t.case("reopen a closed slot and echo", reopened);
        t.case("QUIT and graceful close again", test_close(&mut net));
    }
    let s = net.nic_stats();
    println!(
        "NE2000 stats: rx {} frames, tx {} frames, rx errors {}, tx errors {}, interface errors {}",
        s.rx_frames,
        s.tx_frames,
        s.rx_errors,
        s.tx_errors,
        net.nic_errors()
    );
    finish(&t)
}
