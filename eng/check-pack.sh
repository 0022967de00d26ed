#!/usr/bin/env bash
# Packs GroupRobust, GroupRobust.Imaging, GroupRobust.Pretrained, GroupRobust.Text and GroupRobust.Distributed and checks that, for every target framework, GroupRobust depends on exactly
# TorchSharp, MathNet.Numerics and Microsoft.Extensions.Logging.Abstractions (never a native backend), and that all five
# packages are complete: AnyCPU assemblies (so arm64 loads them), XML docs, a symbols package (.snupkg), the icon, and
# a README whose links are all absolute (relative ones break on nuget.org).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/artifacts/packages"
rm -rf "$out"
dotnet pack src/GroupRobust/GroupRobust.csproj -c Release -o "$out" --nologo -v quiet
dotnet pack src/GroupRobust.Imaging/GroupRobust.Imaging.csproj -c Release -o "$out" --nologo -v quiet
dotnet pack src/GroupRobust.Pretrained/GroupRobust.Pretrained.csproj -c Release -o "$out" --nologo -v quiet
dotnet pack src/GroupRobust.Text/GroupRobust.Text.csproj -c Release -o "$out" --nologo -v quiet
dotnet pack src/GroupRobust.Distributed/GroupRobust.Distributed.csproj -c Release -o "$out" --nologo -v quiet
pkg=$(find "$out" -name 'GroupRobust.[0-9]*.nupkg' | head -n1)
[ -n "$pkg" ] || { echo "check-pack: no GroupRobust .nupkg was produced" >&2; exit 1; }
python3 - "$pkg" "$out" <<'PY'
import os, re, struct, sys, zipfile, xml.etree.ElementTree as ET
pkg, out = sys.argv[1], sys.argv[2]

def corflags_problem(data, name):
    """None for an AnyCPU IL-only assembly, else what it is (x64-only, 32-bit, mixed)."""
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    machine = struct.unpack_from("<H", data, pe + 4)[0]
    if machine != 0x14C:
        return f"{name} is built for machine 0x{machine:x} (x64-only, for example), not AnyCPU: set no PlatformTarget"
    opt = pe + 24
    magic = struct.unpack_from("<H", data, opt)[0]
    dirs = opt + (96 if magic == 0x10B else 112)
    cli_rva = struct.unpack_from("<I", data, dirs + 14 * 8)[0]
    nsec = struct.unpack_from("<H", data, pe + 6)[0]
    sec = opt + struct.unpack_from("<H", data, pe + 20)[0]
    for i in range(nsec):
        va, size, raw = struct.unpack_from("<III", data, sec + i * 40 + 12)
        if va <= cli_rva < va + max(size, 1):
            flags = struct.unpack_from("<I", data, cli_rva - va + raw + 16)[0]
            if not flags & 1: return f"{name} is not IL-only"
            if flags & 0x2 or flags & 0x20000: return f"{name} requires or prefers 32-bit"
            return None
    return f"{name}: no CLI header found"

def check_complete(path, errors):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        base = os.path.basename(path)
        if "icon.png" not in names: errors.append(f"{base}: no icon.png")
        if "README.md" not in names:
            errors.append(f"{base}: README.md is not inside the package")
        else:
            rel = re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", z.read("README.md").decode("utf-8"))
            if rel: errors.append(f"{base}: README.md has relative links, which break on nuget.org: {rel[:5]}")
        for n in names:
            if n.startswith("lib/") and n.endswith(".dll"):
                p = corflags_problem(z.read(n), f"{base}:{n}")
                if p: errors.append(p)
    if not os.path.exists(path[:-len(".nupkg")] + ".snupkg"):
        errors.append(f"{os.path.basename(path)}: no symbols package (.snupkg) next to it")

expected = {"TorchSharp", "MathNet.Numerics", "Microsoft.Extensions.Logging.Abstractions"}
frameworks = {"net8.0", "net10.0"}
with zipfile.ZipFile(pkg) as z:
    nuspec = next(n for n in z.namelist() if n.endswith(".nuspec"))
    root = ET.fromstring(z.read(nuspec))
    names = z.namelist()
ns = {"n": root.tag.split("}")[0].strip("{")}
groups = root.findall(".//n:dependencies/n:group", ns)
seen = {}
for g in groups:
    fw = g.get("targetFramework")
    seen[fw] = {d.get("id") for d in g.findall("n:dependency", ns)}
errors = []
for fw in frameworks:
    deps = seen.get(fw)
    if deps is None:
        errors.append(f"no dependency group for {fw} (groups: {sorted(seen)})")
    elif deps != expected:
        errors.append(f"{fw}: dependencies {sorted(deps)}, expected exactly {sorted(expected)}")
if "README.md" not in names:
    errors.append("README.md is not inside the package")
for fw in frameworks:
    if f"lib/{fw}/GroupRobust.dll" not in names or f"lib/{fw}/GroupRobust.xml" not in names:
        errors.append(f"lib/{fw}/GroupRobust.dll or its XML documentation is missing")
for other in sorted(os.listdir(out)):
    if other.endswith(".nupkg"): check_complete(os.path.join(out, other), errors)
if errors:
    print("check-pack: FAILED for " + pkg, file=sys.stderr)
    for e in errors: print("  - " + e, file=sys.stderr)
    sys.exit(1)
print(f"check-pack: {pkg.rsplit('/',1)[-1]} depends on exactly {sorted(expected)} for {sorted(frameworks)}; "
      f"{', '.join(sorted(n for n in os.listdir(out) if n.endswith('.nupkg')))}: AnyCPU, symbols, icon, README with absolute links")
PY
