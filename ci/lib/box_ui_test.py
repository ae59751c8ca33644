#!/usr/bin/env python3
"""End-to-end test of the C box UI against the MSNP dev server, driven through its console.

Usage: box_ui_test.py --server-bin BIN --accounts JSON --work DIR --label NAME
                      [--idle-check] -- UI COMMAND... (with {ns} for the server's host:port
                      as the UI must name it, {port} for the NS port)

Starts the dev server on 127.0.0.1 (free ports, read from its first line), starts the UI
command (QEMU with the box-ui firmware on `-serial stdio`, or the host build) as alice, and
plays the other side with small raw-MSNP peers (bob, dave) written here. Every check is
counted; the run ends with `N passed, N failed` and exits non-zero on any failure. Every process
is bounded in time and stopped by PID.
"""
import argparse, hashlib, os, re, shutil, signal, socket, subprocess, sys, threading, time

STEP = 30.0  # seconds allowed for each awaited event
QRY_ID, QRY_KEY = 'msmsgs@msnmsgr.com', 'Q1P7W2E4J9R8U3S5'
PASSWORDS = {'bob@example.com': 'bob123', 'dave@example.com': 'dave123'}


class Lines:
    """Collect the text lines of a stream on a thread; wait for patterns after a mark."""

    def __init__(self, stream, log):
        self.lines, self.cv, self.log, self.closed = [], threading.Condition(), log, False
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        buf = b''
        while True:
            chunk = stream.read1(4096) if hasattr(stream, 'read1') else stream.read(1)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                self._add(raw.decode('utf-8', 'replace').rstrip('\r'))
        if buf:
            self._add(buf.decode('utf-8', 'replace'))
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def _add(self, line):
        self.log.write(line + '\n'); self.log.flush()
        with self.cv:
            self.lines.append(line)
            self.cv.notify_all()

    def mark(self):
        with self.cv:
            return len(self.lines)

    def wait(self, pattern, since=0, timeout=STEP):
        """Return the first match of `pattern` (searched from `EVT ` on) in lines from `since`."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            i = since
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    k = line.find('EVT ')
                    m = rx.search(line[k:] if k >= 0 else line)
                    if m:
                        return m
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cv.wait(left)


class Msnp:
    """One raw MSNP connection (NS or switchboard) with a reader thread; answers CHL."""

    def __init__(self, addr, who):
        host, port = addr.rsplit(':', 1)
        self.s = socket.create_connection((host, int(port)), timeout=STEP)
        self.s.settimeout(None)
        self.who, self.trid, self.frames = who, 0, []
        self.cv, self.lock, self.closed = threading.Condition(), threading.Lock(), False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b''
        try:
            while True:
                while b'\r\n' not in buf:
                    d = self.s.recv(4096)
                    if not d:
                        raise EOFError
                    buf += d
                line, buf = buf.split(b'\r\n', 1)
                parts = line.decode('utf-8', 'replace').split(' ')
                payload = b''
                n = None
                if parts[0] in ('MSG', 'NOT') and parts[-1].isdigit():
                    n = int(parts[-1])
                if n is not None:
                    while len(buf) < n:
                        d = self.s.recv(4096)
                        if not d:
                            raise EOFError
                        buf += d
                    payload, buf = buf[:n], buf[n:]
                if parts[0] == 'CHL':
                    ans = hashlib.md5((parts[2] + QRY_KEY).encode()).hexdigest()
                    self.send_raw(f'QRY {self.next_trid()} {QRY_ID} 32\r\n'.encode() + ans.encode())
                with self.cv:
                    self.frames.append((parts, payload))
                    self.cv.notify_all()
        except (EOFError, OSError):
            pass
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def next_trid(self):
        with self.lock:
            self.trid += 1
            return self.trid

    def send_raw(self, data):
        self.s.sendall(data)

    def cmd(self, verb, args=''):
        t = self.next_trid()
        self.send_raw(f'{verb} {t}{" " + args if args else ""}\r\n'.encode())
        return t

    def mark(self):
        with self.cv:
            return len(self.frames)

    def wait(self, pred, since=0, timeout=STEP):
        end = time.monotonic() + timeout
        with self.cv:
            i = since
            while True:
                while i < len(self.frames):
                    if pred(*self.frames[i]):
                        return self.frames[i]
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cv.wait(left)

    def reply(self, t, verb, since=0):
        return self.wait(lambda p, _: p[0] == verb and len(p) > 1 and p[1] == str(t), since)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def sign_in(ns_addr, email):
    """Sign `email` in with MSNP7 and MD5; return the NS connection."""
    ns = Msnp(ns_addr, email)
    t = ns.cmd('VER', 'MSNP7 CVR0')
    if not ns.reply(t, 'VER'):
        raise RuntimeError(f'{email}: no VER answer')
    t = ns.cmd('INF')
    ns.reply(t, 'INF')
    t = ns.cmd('USR', f'MD5 I {email}')
    r = ns.reply(t, 'USR')
    if not r or len(r[0]) < 5:
        raise RuntimeError(f'{email}: no salt')
    salt = r[0][4]
    t = ns.cmd('USR', 'MD5 S ' + hashlib.md5((salt + PASSWORDS[email]).encode()).hexdigest())
    r = ns.reply(t, 'USR')
    if not r or r[0][2] != 'OK':
        raise RuntimeError(f'{email}: login refused: {r}')
    t = ns.cmd('SYN', '0')
    ns.reply(t, 'SYN')
    t = ns.cmd('CHG', 'NLN')
    ns.reply(t, 'CHG')
    return ns


def text_msg(text):
    body = ('MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n'
            'X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n' + text).encode()
    return body


def typing_msg(email):
    return (f'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {email}'
            '\r\n\r\n\r\n').encode()


def sb_send(sb, flag, body):
    t = sb.next_trid()
    sb.send_raw(f'MSG {t} {flag} {len(body)}\r\n'.encode() + body)
    return t


class Tally:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def check(self, name, ok, detail=''):
        if ok:
            self.passed += 1
            print(f'[{self.label}] ok   {name}', flush=True)
        else:
            self.failed += 1
            print(f'[{self.label}] FAIL {name}{": " + detail if detail else ""}', flush=True)
        return ok


def start_server(a):
    os.makedirs(a.work, exist_ok=True)
    cfg = os.path.join(a.work, 'accounts.json')
    shutil.copy(a.accounts, cfg)
    state = os.path.join(a.work, 'accounts.state.json')
    if os.path.exists(state):
        os.remove(state)
    err = open(os.path.join(a.work, 'server.log'), 'w')
    p = subprocess.Popen([a.server_bin, '--config', cfg, '--ns-port', '0', '--sb-port', '0',
                          '--state', state], stdout=subprocess.PIPE, stderr=err)
    line = p.stdout.readline().decode()
    m = re.search(r'ns=127\.0\.0\.1:(\d+) sb=127\.0\.0\.1:(\d+)', line)
    if not m:
        p.kill()
        raise RuntimeError(f'dev server did not start: {line!r}')
    threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
    return p, int(m.group(1))


def scenario(t, ui, typ, ns_addr, quiet):
    """The main scenario: alice on the UI, bob and dave as raw peers."""
    m = ui.wait(r'^EVT arena (\d+) (\d+)')
    t.check('core initialised in the arena (high-water mark printed)', m is not None,
            'no EVT arena line')
    if m:
        print(f'[{t.label}] arena high-water mark: {m.group(1)} of {m.group(2)} bytes', flush=True)
    t.check('alice signs in', ui.wait(r'^EVT signed-in Alice') is not None)
    t.check('contact list shown after sync', ui.wait(r'^EVT contacts 2') is not None)

    mark = ui.mark()
    bob = sign_in(ns_addr, 'bob@example.com')
    t.check('bob shows online in the UI', ui.wait(r'^EVT online bob@example\.com NLN', mark)
            is not None)
    mark = ui.mark()
    typ('/list')
    t.check('/list shows bob online',
            ui.wait(r'^EVT contact bob@example\.com online NLN FL,AL,RL', mark) is not None)

    # bob starts a conversation and says hello.
    sbm = bob.mark()
    x = bob.cmd('XFR', 'SB')
    r = bob.reply(x, 'XFR', sbm)
    if not t.check('bob gets a switchboard', r is not None and len(r[0]) >= 6, str(r)):
        return
    sb = Msnp(r[0][3], 'bob-sb')
    u = sb.cmd('USR', f'bob@example.com {r[0][5]}')
    sb.reply(u, 'USR')
    mark = ui.mark()
    sb.cmd('CAL', 'alice@example.com')
    t.check('alice joins bob\'s switchboard', sb.wait(lambda p, _: p[0] == 'JOI') is not None)
    sb_send(sb, 'U', typing_msg('bob@example.com'))
    t.check('bob\'s typing notice shows in the UI',
            ui.wait(r'^EVT typing bob@example\.com', mark) is not None)
    mt = sb_send(sb, 'A', text_msg('hello from bob'))
    t.check('bob\'s message arrives in the UI',
            ui.wait(r'^EVT message bob@example\.com hello from bob$', mark) is not None)
    t.check('bob\'s message is acknowledged', sb.reply(mt, 'ACK') is not None)

    # alice answers by typing into the console.
    mark, sbm = ui.mark(), sb.mark()
    typ('hi bob, this is the box')
    got = sb.wait(lambda p, pl: p[0] == 'MSG' and b'Content-Type: text/plain' in pl, sbm)
    t.check('bob receives alice\'s typed message',
            got is not None and got[1].endswith(b'\r\n\r\nhi bob, this is the box'), str(got))
    t.check('bob sees alice typing', sb.wait(
        lambda p, pl: p[0] == 'MSG' and b'TypingUser: alice@example.com' in pl, sbm) is not None)
    t.check('the UI shows the message delivered',
            ui.wait(r'^EVT outcome delivered \d+', mark) is not None)

    # dave adds alice: the UI asks, alice accepts.
    mark = ui.mark()
    dave = sign_in(ns_addr, 'dave@example.com')
    dave.cmd('ADD', 'FL alice@example.com alice@example.com')
    t.check('"dave added you" shows in the UI',
            ui.wait(r'^EVT added-by dave@example\.com', mark) is not None)
    mark, dm = ui.mark(), dave.mark()
    typ('/accept dave@example.com')
    t.check('accepting puts dave on the allow list',
            ui.wait(r'^EVT list dave@example\.com AL added', mark) is not None)
    t.check('accepting adds dave to the contact list',
            ui.wait(r'^EVT list dave@example\.com FL added', mark) is not None)
    t.check('dave is told alice added him', dave.wait(
        lambda p, _: p[0] == 'ADD' and 'RL' in p and 'alice@example.com' in p, dm) is not None)

    # block and allow bob.
    mark, bm = ui.mark(), bob.mark()
    typ('/block bob@example.com')
    t.check('blocking bob is confirmed',
            ui.wait(r'^EVT list bob@example\.com BL added', mark) is not None)
    t.check('bob sees alice go offline',
            bob.wait(lambda p, _: p[0] == 'FLN' and p[1] == 'alice@example.com', bm) is not None)
    mark, bm = ui.mark(), bob.mark()
    typ('/allow bob@example.com')
    t.check('allowing bob again is confirmed',
            ui.wait(r'^EVT list bob@example\.com AL added', mark) is not None)
    t.check('bob sees alice online again', bob.wait(
        lambda p, _: p[0] in ('NLN', 'ILN') and 'alice@example.com' in p, bm) is not None)

    # availability.
    mark, bm = ui.mark(), bob.mark()
    typ('/status away')
    t.check('status away is confirmed', ui.wait(r'^EVT status AWY', mark) is not None)
    t.check('bob sees alice away', bob.wait(
        lambda p, _: p[0] == 'NLN' and p[1] == 'AWY' and p[2] == 'alice@example.com', bm)
        is not None)

    # quiet connections stay up (no traffic from either side for longer than TCP timeouts).
    if quiet:
        mark = ui.mark()
        print(f'[{t.label}] staying quiet for {quiet:.0f} s', flush=True)
        time.sleep(quiet)
        sbm = sb.mark()
        sb_send(sb, 'A', text_msg('still there?'))
        t.check(f'after {quiet:.0f} quiet seconds bob\'s switchboard still reaches the UI',
                ui.wait(r'^EVT message bob@example\.com still there\?$', mark) is not None)
        t.check('no connection was lost while quiet',
                ui.wait(r'^EVT (reconnecting|signed-out|conv-closed)', mark, timeout=0.5) is None)

    # a message to offline carol fails: typed while the invitation is out it ends as
    # failed-contact-offline; typed after the refusal it is refused at once.
    mark = ui.mark()
    typ('/open carol@example.com')
    t.check('/open makes carol\'s conversation current',
            ui.wait(r'^EVT current carol@example\.com', mark) is not None)
    typ('are you there?')
    t.check('the UI reports that carol cannot be invited',
            ui.wait(r'^EVT request-failed 217 CAL carol@example\.com', mark) is not None)
    t.check('the message to carol fails with a reason', ui.wait(
        r'^EVT (outcome failed-contact-offline \d+|error msg 7007)', mark) is not None)

    # a bad command is reported, not fatal.
    mark = ui.mark()
    typ('/open')
    t.check('a command without its contact is refused with an error line',
            ui.wait(r'^EVT error open no-contact', mark) is not None)

    mark, bm = ui.mark(), bob.mark()
    typ('/quit')
    t.check('the UI signs out and ends cleanly', ui.wait(r'^EVT quit 0', mark) is not None)
    t.check('bob sees alice sign out', bob.wait(
        lambda p, _: p[0] == 'FLN' and p[1] == 'alice@example.com', bm) is not None)
    for c in (sb, bob, dave):
        c.close()


def idle_scenario(t, ui, typ):
    """IMS idle: messaging goes off after the idle time and back on at the next key."""
    t.check('carol signs in', ui.wait(r'^EVT signed-in Carol') is not None)
    t.check('messaging switches off when idle', ui.wait(r'^EVT ims off') is not None)
    mark = ui.mark()
    typ('/list')
    t.check('a key switches messaging back on', ui.wait(r'^EVT ims on', mark) is not None)
    mark = ui.mark()
    typ('/quit')
    t.check('the UI ends cleanly', ui.wait(r'^EVT quit 0', mark) is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server-bin', required=True)
    ap.add_argument('--accounts', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--label', default='box-ui')
    ap.add_argument('--idle-check', action='store_true')
    ap.add_argument('--quiet', type=float, default=0,
                    help='seconds of silence on every connection before the last steps')
    ap.add_argument('--timeout', type=float, default=240)
    ap.add_argument('--ns-host', default='127.0.0.1', help='how the UI names the host')
    ap.add_argument('ui', nargs='+')
    a = ap.parse_args()
    # An outer `timeout` sends SIGTERM: unwind so the `finally` below stops the children by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t = Tally(a.label)
    server, port = start_server(a)
    ui_proc = None
    log_path = os.path.join(a.work, f'{a.label}.console.log')
    try:
        ns_addr = f'127.0.0.1:{port}'
        cmd = [c.replace('{ns}', f'{a.ns_host}:{port}').replace('{port}', str(port)) for c in a.ui]
        ui_proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        killer = threading.Timer(a.timeout, ui_proc.kill)
        killer.start()
        log = open(log_path, 'w')
        ui = Lines(ui_proc.stdout, log)

        def typ(line):
            ui_proc.stdin.write(line.encode() + b'\r')
            ui_proc.stdin.flush()

        try:
            if a.idle_check:
                idle_scenario(t, ui, typ)
            else:
                scenario(t, ui, typ, ns_addr, a.quiet)
        except (RuntimeError, OSError) as e:
            t.check('scenario ran to the end', False, str(e))
        try:
            ui_proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        killer.cancel()
        result = ui.wait(r'^RESULT: ', timeout=0.1) if 'qemu' in os.path.basename(cmd[0]) else None
        if 'qemu' in os.path.basename(cmd[0]):
            t.check('the firmware reports RESULT: PASSED',
                    result is not None and 'PASSED' in result.string, 'no RESULT line')
        else:
            t.check('the host program exits with status 0', ui_proc.returncode == 0,
                    f'status {ui_proc.returncode}')
        log.close()
    finally:
        for p in (ui_proc, server):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    if t.failed:
        print(f'[{a.label}] console transcript ({log_path}):')
        with open(log_path) as f:
            for line in f.read().splitlines()[-80:]:
                print(f'[{a.label}]   {line}')
    print(f'{a.label}: {t.passed} passed, {t.failed} failed', flush=True)
    sys.exit(0 if t.failed == 0 and t.passed > 0 else 1)


if __name__ == '__main__':
    main()
