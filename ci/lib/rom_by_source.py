#!/usr/bin/env python3
"""Attribute every instruction of a MIPS image to the source file (and line) it came from.

Input: `objdump -dl` output of an image built with line tables (the code is the same bytes
as without them). Prints bytes per source file (own files, crates, core library), then the
own source lines LTO inlined into several functions, counted beyond their largest copy:
that is the ROM a shared out-of-line copy could win back.
"""
import collections
import re
import sys


def main(path: str, top: int) -> None:
    fn, cur = "?", "?"
    per_line = collections.defaultdict(collections.Counter)
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^[0-9a-f]+ <(\S+)>:", line)
        if m:
            fn = m.group(1)
            continue
        m = re.match(r"^(\S+\.(?:rs|S|c|h)):(\d+)", line)
        if m:
            cur = f"{m.group(1)}:{m.group(2)}"
            continue
        if re.match(r"^\s*[0-9a-f]+:\t\S", line):
            per_line[cur][fn] += 4

    def group(src: str) -> str:
        f = src.rsplit(":", 1)[0]
        if f.startswith("/rust/library/"):
            parts = f.split("/")
            if parts[3] != "core":
                return parts[3]
            return "core library (inlined): " + parts[5].removesuffix(".rs")
        if f.startswith("/crates/"):
            return "crate " + f.split("/")[3].rsplit("-", 1)[0]
        i = f.find("src/")
        return f[i:] if i >= 0 else f

    by_file = collections.Counter()
    for src, fns in per_line.items():
        by_file[group(src)] += sum(fns.values())
    total = sum(by_file.values())
    print(f"  .text by source ({total} bytes):")
    for k, n in by_file.most_common(top):
        print(f"    {n:7d}  {k}")
    dup = collections.Counter()
    for src, fns in per_line.items():
        if len(fns) > 1 and not src.startswith(("/rust/", "/crates/")):
            dup[src] = sum(fns.values()) - max(fns.values())
    print(f"  own lines inlined into several functions: {sum(dup.values())} bytes beyond one copy each")
    for k, n in dup.most_common(12):
        i = k.find("src/")
        print(f"    {n:7d}  {k[i:] if i >= 0 else k} ({len(per_line[k])} copies)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30)
