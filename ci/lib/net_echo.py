#!/usr/bin/env python3
"""A small line-protocol test service for the guest's network test (ci/net-test).

Usage: net_echo.py --port-file FILE [--lifetime S]

Binds 127.0.0.1 on a free port, writes the port number to FILE, serves connections one thread
each, and exits after --lifetime seconds at the latest. Requests, one per line:
  ECHO text        -> "text\\n"
  SINK n           -> reads n bytes, then "SUM <crc32 hex> <n>\\n"
  SOURCE n seed    -> n bytes of xorshift32 (big-endian words) from seed, then "SUM <crc32> <n>\\n"
  QUIT             -> "BYE\\n", then close
Anything else gets "ERR\\n". Each request is logged to stderr with its duration.
"""
import argparse, os, socket, sys, threading, time, zlib


def xorshift_bytes(seed, n):
    x = seed or 1
    out = bytearray()
    while len(out) < n:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out += x.to_bytes(4, 'big')
    return bytes(out[:n])


def log(msg):
    print(f'net_echo: {msg}', file=sys.stderr, flush=True)


def serve(conn, addr):
    conn.settimeout(30)
    f = conn.makefile('rb')
    try:
        while True:
            line = f.readline()
            if not line:
                return
            words = line.decode('ascii', 'replace').rstrip('\r\n').split(' ')
            cmd = words[0]
            t0 = time.monotonic()
            if cmd == 'ECHO':
                conn.sendall(line[5:])
            elif cmd == 'SINK' and len(words) == 2:
                n = int(words[1])
                data = f.read(n)
                conn.sendall(f'SUM {zlib.crc32(data):08x} {len(data)}\n'.encode())
                log(f'SINK {len(data)} bytes in {time.monotonic() - t0:.2f} s')
            elif cmd == 'SOURCE' and len(words) == 3:
                data = xorshift_bytes(int(words[2]), int(words[1]))
                conn.sendall(data)
                conn.sendall(f'SUM {zlib.crc32(data):08x} {len(data)}\n'.encode())
                log(f'SOURCE {len(data)} bytes in {time.monotonic() - t0:.2f} s')
            elif cmd == 'QUIT':
                conn.sendall(b'BYE\n')
                return
            else:
                conn.sendall(b'ERR\n')
    except (OSError, ValueError) as e:
        log(f'{addr}: {e}')
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--lifetime', type=float, default=120)
    a = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 0))
    srv.listen(8)
    tmp = a.port_file + '.tmp'
    with open(tmp, 'w') as pf:
        pf.write(str(srv.getsockname()[1]))
    os.replace(tmp, a.port_file)
    deadline = time.monotonic() + a.lifetime
    srv.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            conn, addr = srv.accept()
        except socket.timeout:
            continue
        log(f'connection from {addr[0]}:{addr[1]}')
        threading.Thread(target=serve, args=(conn, addr), daemon=True).start()
    log('lifetime over, exiting')


if __name__ == '__main__':
    main()
