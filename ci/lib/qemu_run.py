#!/usr/bin/env python3
"""Run a firmware image under QEMU malta, stream its console, and judge the run.

Usage: qemu_run.py --qemu BIN --cpu CPU --kernel ELF [--timeout S] [--log-serial FILE]
                   [--label NAME] [--clock-check] [-- extra qemu args]

The run passes when the console shows `RESULT: PASSED` before QEMU exits and before the
timeout. With --expect-panic it passes only when the guest ends in the documented abort of a
core panic instead: a `PANIC at file:line:col` line, then `RESULT: FAILED (panic)`; the label's
summary line then counts that one expected ending. With --clock-check, the wall time between the guest's `clock-check start` and
`clock-check end` lines (1000 ms of guest CP0 time) is measured to confirm the Count rate.
"""
import argparse, os, re, subprocess, sys, time, threading

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qemu', required=True)
    ap.add_argument('--cpu', required=True)
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--timeout', type=float, default=300)
    ap.add_argument('--log-serial', default=None)
    ap.add_argument('--label', default=None)
    ap.add_argument('--clock-check', action='store_true')
    ap.add_argument('--expect-panic', action='store_true',
                    help='pass only if the guest ends with PANIC at ... and RESULT: FAILED (panic)')
    ap.add_argument('--quiet', action='store_true', help='print only failures and summary lines')
    ap.add_argument('extra', nargs='*')
    a = ap.parse_args()
    label = a.label or a.cpu
    cmd = [a.qemu, '-M', 'malta', '-cpu', a.cpu, '-m', '64', '-display', 'none', '-monitor', 'none',
           '-no-reboot', '-serial', 'stdio',
           '-serial', ('file:' + a.log_serial) if a.log_serial else 'null',
           '-kernel', a.kernel] + a.extra
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timer = threading.Timer(a.timeout, p.kill)
    timer.start()
    result = None; summary = None; t_start = t_end = None; panic_at = None
    try:
        for raw in p.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            now = time.monotonic()
            if line == 'clock-check start': t_start = now
            if line == 'clock-check end': t_end = now
            if line.startswith('PANIC at ') and result is None: panic_at = line
            if line.startswith('RESULT:'): result = line
            if line.endswith(' failed') and ' passed, ' in line: summary = line
            if not a.quiet or line.startswith(('FAIL', 'PANIC', 'EXCEPTION', 'RESULT')):
                print(f'[{label}] {line}', flush=True)
    finally:
        p.wait()
        timed_out = not timer.is_alive() and result is None
        timer.cancel()
    ok = result == 'RESULT: PASSED'
    if a.expect_panic:
        ok = panic_at is not None and result == 'RESULT: FAILED (panic)'
        print(f'[{label}] expected abort: ' + (f'seen ({panic_at})' if ok else 'NOT seen'))
        summary = f'{int(ok)} passed, {int(not ok)} failed'
    if timed_out or result is None:
        print(f'[{label}] no RESULT line: the guest hung or crashed (timeout {a.timeout:.0f} s)')
        ok = False
    if a.clock_check:
        if t_start is None or t_end is None:
            print(f'[{label}] clock check: lines missing'); ok = False
        else:
            wall = t_end - t_start
            rate = 166.667 / wall
            print(f'[{label}] clock check: 1000 guest ms took {wall*1000:.0f} host ms '
                  f'(CP0 Count at ~{rate:.0f} MHz; the board assumes 166.67 MHz)')
            if not 0.85 <= wall <= 1.6:
                print(f'[{label}] clock check: FAILED (outside 0.85-1.6 s)'); ok = False
    if summary:
        m = re.search(r'\d+ passed, \d+ failed', summary)
        print(f'{label}: {m.group(0) if m else summary.strip()}')
    sys.exit(0 if ok else 1)

if __name__ == '__main__':
    main()
