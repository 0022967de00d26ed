#!/usr/bin/env bash
# Consumes the packed GroupRobust .nupkg the way a downstream user does: a throwaway console project outside the
# solution references it from a local folder feed, together with TorchSharp-cpu, and runs a few lines of it
# (JM1 through the method contract in the ready loop, then an evaluation). Run eng/check-pack.sh first (it produces artifacts/packages).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
feed="$root/artifacts/packages"
pkg=$(find "$feed" -maxdepth 1 -name 'GroupRobust.[0-9]*.nupkg' | head -n1)
[ -n "$pkg" ] || { echo "check-package-consumption: no GroupRobust package in $feed (run eng/check-pack.sh)" >&2; exit 1; }
version=$(basename "$pkg" .nupkg); version=${version#GroupRobust.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# a stale copy of this version in the global cache would hide what was just packed
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/grouprobust/$version"
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$feed" />
  </packageSources>
</configuration>
XML
cat > "$work/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net8.0</TargetFramework>
    <RollForward>Major</RollForward>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="GroupRobust" Version="$version" />
    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
  </ItemGroup>
</Project>
XML
cat > "$work/Program.cs" <<'CS'
using GroupRobust;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Training;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 200, Seed = 1 });
using var model = nn.Linear(2, 2);
using var evaluator = new WorstGroupEvaluator(data.Scheme);
var groups = new OracleIdentifier().Identify(data.Train);
using var jm1 = MixingMethod.Jm1(data.Train, groups, new SeedSource(2));
using var optimizer = torch.optim.SGD(model.parameters(), 0.1);
var history = TrainingLoop.Run(jm1, model, optimizer, data, epochs: 2, batchSize: 32);
var result = evaluator.Evaluate(model, data.Test);
if (result.Count != data.Test.Count || history.Epochs.Count != 2 || history.Epochs[0].Method.Mixing is null) throw new Exception("unexpected result");
Console.WriteLine($"consumer OK: {result}; {history.Method} selected epoch {history.Best.Epoch}");
CS
cd "$work"
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet run --configfile "$work/nuget.config" -v quiet 2>&1 | tail -n 5 > "$work/out.txt" || { cat "$work/out.txt" >&2; echo "check-package-consumption: the consumer project failed" >&2; exit 1; }
cat "$work/out.txt"
grep -q "consumer OK" "$work/out.txt" || { echo "check-package-consumption: the consumer did not report success" >&2; exit 1; }
