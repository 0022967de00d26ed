#!/usr/bin/env bash
# Packs GroupRobust and checks that, for every target framework, the package depends on exactly
# TorchSharp, MathNet.Numerics and Microsoft.Extensions.Logging.Abstractions (never a native backend).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/artifacts/packages"
rm -rf "$out"
dotnet pack src/GroupRobust/GroupRobust.csproj -c Release -o "$out" --nologo -v quiet
pkg=$(find "$out" -name 'GroupRobust.*.nupkg' ! -name '*.snupkg' | head -n1)
[ -n "$pkg" ] || { echo "check-pack: no GroupRobust .nupkg was produced" >&2; exit 1; }
python3 - "$pkg" <<'PY'
import sys, zipfile, xml.etree.ElementTree as ET
pkg = sys.argv[1]
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
if errors:
    print("check-pack: FAILED for " + pkg, file=sys.stderr)
    for e in errors: print("  - " + e, file=sys.stderr)
    sys.exit(1)
print(f"check-pack: {pkg.rsplit('/',1)[-1]} depends on exactly {sorted(expected)} for {sorted(frameworks)}")
PY
