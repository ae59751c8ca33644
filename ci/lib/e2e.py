#!/usr/bin/env python3
"""End to end: the big-endian MIPS guest (C box UI over the core) and host msgr-cli peers chat
through the combined dev service (MSNP + WTVP, 127.0.0.1 only).

Usage: e2e.py --mode wtvp8|md5-6 --devservice BIN --cli BIN --accounts JSON --elf ELF
              --work DIR [--qemu BIN --cpu CPU] [--tour]

alice is the guest (serial console), bob and dave are msgr-cli processes driven line by line
through stdin (their JSON events read from stdout). Steps, each asserted and bounded in time:
sign-in on both sides, each sees the other online, messages both ways with delivered outcomes,
typing both ways, dave adds alice (added-by on the guest, /accept, dave then sees alice),
bob blocks and allows alice (the guest sees him offline and online), the guest's IMS idle
timer switches messaging off and bob's new conversation fails, a key brings it back, the guest
signs out and bob sees alice offline. Ends with `N passed, N failed`.
"""
import argparse, json, os, queue, re, shutil, signal, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from box_ui_test import Lines  # noqa: E402  (the serial-console line collector)

STEP = 45.0


class Cli:
    """One msgr-cli process: script lines in through stdin, JSON events out."""

    def __init__(self, argv, log_path, name):
        self.name = name
        self.log = open(log_path, 'w')
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, bufsize=0)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode('utf-8', 'replace').strip()
            self.log.write(line + '\n'); self.log.flush()
            try:
                self.events.put(json.loads(line))
            except ValueError:
                pass
        self.events.put(None)

    def do(self, line):
        """Send one script line; for `expect ...` lines wait for its verdict."""
        self.p.stdin.write((line + '\n').encode()); self.p.stdin.flush()
        if not line.startswith('expect'):
            return True
        end = time.monotonic() + STEP
        while time.monotonic() < end:
            try:
                ev = self.events.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                break
            if ev is None:
                return False
            if ev.get('event') == 'expect-ok':
                return True
            if ev.get('event') == 'expect-failed':
                self.log.write(f'# expectation failed: {ev}\n')
                return False
        return False

    def stop(self):
        try:
            self.p.stdin.write(b'signout\n'); self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


class Run:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f'[{self.label}] ok: {what}', flush=True)
        else:
            self.failed += 1
            print(f'[{self.label}] FAIL: {what}', flush=True)
        return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['wtvp8', 'md5-6'], required=True)
    ap.add_argument('--devservice', required=True)
    ap.add_argument('--cli', required=True)
    ap.add_argument('--accounts', required=True)
    ap.add_argument('--elf', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--qemu', default='qemu-system-mips64')
    ap.add_argument('--cpu', default='R4000')
    ap.add_argument('--idle-ms', type=int, default=20000)
    ap.add_argument('--show-console', action='store_true', help='echo the guest console (the tour)')
    a = ap.parse_args()
    label = f'e2e-{a.mode}'
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    r = Run(label)
    procs = []

    # A fresh copy of the accounts, with every box linked (dave too), and its own state file.
    cfg = json.load(open(a.accounts))
    for b in cfg.get('boxes', []):
        b.pop('messenger', None)
    cfg_path = os.path.join(a.work, 'accounts.json')
    json.dump(cfg, open(cfg_path, 'w'))
    ssid = {b['passport']: b['ssid'] for b in cfg.get('boxes', [])}

    svc = subprocess.Popen([a.devservice, '--config', cfg_path, '--ns-port', '0', '--sb-port', '0',
                            '--wtvp-port', '0', '--state', os.path.join(a.work, 'state.json')],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(a.work, 'devservice.log'), 'w'))
    procs.append(svc)
    try:
        banner = svc.stdout.readline().decode()
        m = re.search(r'ns=127\.0\.0\.1:(\d+) sb=127\.0\.0\.1:(\d+) wtvp=127\.0\.0\.1:(\d+)', banner)
        if not r.check(m is not None, f'dev service started ({banner.strip()})'):
            return r
        ns, wtvp = int(m.group(1)), int(m.group(3))

        if a.mode == 'wtvp8':
            append = f'user=alice@example.com wtvp=10.0.2.2:{wtvp} ssid={ssid["alice@example.com"]} msnp=8 idle={a.idle_ms}'
            login = lambda who: ['--wtvp', f'127.0.0.1:{wtvp}', '--ssid', ssid[who], '--msnp', '8']
        else:
            append = f'server=10.0.2.2:{ns} user=alice@example.com password=alice123 msnp=6 idle={a.idle_ms}'
            login = lambda who: ['--password', who.split('@')[0] + '123', '--msnp', '6']

        guest = subprocess.Popen([a.qemu, '-M', 'malta', '-cpu', a.cpu, '-m', '64', '-display', 'none',
                                  '-monitor', 'none', '-no-reboot', '-serial', 'stdio', '-serial', 'null',
                                  '-kernel', a.elf, '-nic', 'none',
                                  '-device', 'ne2k_isa,netdev=n0,iobase=0x300,irq=9',
                                  '-netdev', 'user,id=n0', '-append', append],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        procs.append(guest)
        console_log = open(os.path.join(a.work, 'guest.log'), 'w')
        if a.show_console:
            log_file = console_log

            class Tee:
                def write(self, text):
                    log_file.write(text)
                    for line in text.splitlines():
                        if not line.startswith('EVT '):
                            print(f'  | {line}', flush=True)
                def flush(self):
                    log_file.flush()
            console_log = Tee()
        con = Lines(guest.stdout, console_log)

        def key(line):
            # Serial input reaches the guest slowly: send a byte at a time.
            for ch in (line + '\r').encode():
                guest.stdin.write(bytes([ch])); guest.stdin.flush()
                time.sleep(0.002)

        def cli(who):
            c = Cli([a.cli, '--server', f'127.0.0.1:{ns}', '--user', who, '--timeout', str(int(STEP * 1000))]
                    + login(who), os.path.join(a.work, who.split('@')[0] + '.log'), who)
            procs.append(c.p)
            return c

        r.check(con.wait(r'EVT signed-in', 0, 120) is not None, 'guest (alice) signs in')
        bob = cli('bob@example.com')
        r.check(bob.do('expect signed-in'), 'bob (msgr-cli) signs in')
        r.check(bob.do('expect online alice@example.com'), 'bob sees alice online')
        r.check(con.wait(r'EVT online bob@example\.com', 0) is not None, 'alice sees bob online')

        mark = con.mark()
        bob.do('send alice@example.com hello from bob')
        r.check(con.wait(r'EVT message bob@example\.com hello from bob', mark) is not None, 'alice receives bob\'s message')
        r.check(bob.do('expect delivered'), 'bob\'s message is delivered')

        mark = con.mark()
        key('/open bob@example.com')
        key('/msg hello from the box')
        r.check(bob.do('expect message alice@example.com hello from the box'), 'bob receives alice\'s message')
        r.check(con.wait(r'EVT outcome delivered', mark) is not None, 'alice\'s message is delivered')

        mark = con.mark()
        bob.do('typing alice@example.com')
        r.check(con.wait(r'EVT typing bob@example\.com', mark) is not None, 'alice sees bob typing')
        key('typing into the box')
        r.check(bob.do('expect typing alice@example.com'), 'bob sees alice typing')
        key('')

        dave = cli('dave@example.com')
        r.check(dave.do('expect signed-in'), 'dave signs in')
        mark = con.mark()
        dave.do('add FL alice@example.com')
        r.check(con.wait(r'EVT added-by dave@example\.com', mark) is not None, 'alice learns dave added her')
        key('/accept dave@example.com')
        r.check(dave.do('expect online alice@example.com'), 'dave sees alice after she accepts')

        mark = con.mark()
        bob.do('block alice@example.com')
        r.check(con.wait(r'EVT offline bob@example\.com', mark) is not None, 'bob blocks alice: she sees him offline')
        mark = con.mark()
        bob.do('allow alice@example.com')
        r.check(con.wait(r'EVT online bob@example\.com', mark) is not None, 'bob allows alice again: online')

        # IMS idle: no key for the idle period; then bob's new conversation must fail.
        mark = con.mark()
        r.check(con.wait(r'EVT ims off', mark, a.idle_ms / 1000 + 30) is not None, 'the guest switches IMS off when idle')
        bob.do('leave alice@example.com')
        bob.do('wait 1000')
        bob.do('send alice@example.com are you there?')
        r.check(bob.do('expect failed'), 'bob\'s new conversation fails while alice is idle')
        mark = con.mark()
        key('/list')
        r.check(con.wait(r'EVT ims on', mark) is not None, 'a key switches IMS back on')

        mark = con.mark()
        key('/signout')
        r.check(con.wait(r'EVT signed-out', mark) is not None, 'alice signs out')
        r.check(bob.do('expect offline alice@example.com'), 'bob sees alice offline')
        key('/quit')
        bob.stop(); dave.stop()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
    return r


if __name__ == '__main__':
    run = main()
    print(f'{run.label}: {run.passed} passed, {run.failed} failed', flush=True)
    sys.exit(0 if run.failed == 0 and run.passed > 0 else 1)
