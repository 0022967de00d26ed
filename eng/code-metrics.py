#!/usr/bin/env python3
"""Counts what the architecture issue tracks, for src/ (or the folders given):
public types (top-level public declarations, each name once: partial classes count once, nested types of an
internal class do not count), code lines (not blank, not comments or XML docs) and guard lines
(argument and state checks: ThrowIf*, `throw new Argument...`, Guard.*, Ensure*(...) calls, and the `if (...)` line
of a two-line `if ... throw new Argument...`). Usage: python3 eng/code-metrics.py [folder ...]"""
import re
import sys
from pathlib import Path

roots = [Path(p) for p in (sys.argv[1:] or ["src"])]
public_type = re.compile(r"^public (?:(?:sealed|static|abstract|partial|readonly|unsafe|record)\s+)*(?:class|record|struct|interface|enum)\s+(\w+)")
guard = re.compile(r"ThrowIf\w*\(|throw new (?:Argument\w*|ObjectDisposed)Exception|\bGuard\.\w+\(|\.Ensure\w+\(|^\s*Ensure\w+\(")
throw_arg = re.compile(r"^\s*(?:=>\s*)?throw new (?:Argument\w*|ObjectDisposed)Exception|^\s*\?\? throw new Argument")
types: set = set()
code = guards = 0
for root in roots:
    for f in sorted(root.rglob("*.cs")):
        if "/obj/" in str(f) or "/bin/" in str(f):
            continue
        lines = f.read_text(encoding="utf-8").splitlines()
        in_block = False
        for i, raw in enumerate(lines):
            s = raw.strip()
            if in_block:
                if "*/" in s:
                    in_block = False
                continue
            if not s or s.startswith("//"):
                continue
            if s.startswith("/*"):
                in_block = "*/" not in s
                continue
            code += 1
            if m := public_type.match(raw):
                types.add((root, f.parts[len(root.parts)] if len(f.parts) > len(root.parts) + 1 else "", m.group(1)))
            if guard.search(s):
                guards += 1
            elif s.startswith("if (") and i + 1 < len(lines) and throw_arg.match(lines[i + 1]):
                guards += 1
print(f"public types: {len(types)}")
print(f"code lines: {code}")
print(f"guard lines: {guards} ({100.0 * guards / max(code, 1):.1f}% of code lines)")
