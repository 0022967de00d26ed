#!/usr/bin/env bash
# Consumes the packages the way README tells a user to: the bash block between README's install markers runs line
# for line (with HOME pointing at a scratch folder, so its ~/grouprobust-feed lands there, and "grouprobust" a link to
# this checkout), then a throwaway console application "my-app" that the block gave GroupRobust, its four companion
# packages and TorchSharp-cpu runs a few lines of each (JM1 from the catalog through the method contract in the ready
# loop, then an evaluation; a PNG through Skia; a torchvision ResNet-18; the word-piece tokenizer; a data-parallel shard).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/src/GroupRobust/GroupRobust.csproj" | head -n1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
# a stale copy of this version in the global cache would hide what the block packs
for p in grouprobust grouprobust.imaging grouprobust.pretrained grouprobust.text grouprobust.distributed; do rm -rf "${packages:?}/$p/$version"; done
awk '/<!-- install:begin -->/{f=1;next} /<!-- install:end -->/{f=0} f' "$root/README.md" | sed '/^```/d' > "$work/install.sh"
[ -s "$work/install.sh" ] || { echo "check-package-consumption: README has no install block between its markers" >&2; exit 1; }
grep -q "dotnet add package GroupRobust --version $version" "$work/install.sh" \
  || { echo "check-package-consumption: README's install block does not add GroupRobust $version (the version in GroupRobust.csproj)" >&2; exit 1; }
ln -s "$root" "$work/grouprobust"
mkdir -p "$work/my-app"
cat > "$work/my-app/my-app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net8.0</TargetFramework>
    <RollForward>Major</RollForward>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
</Project>
XML
cat > "$work/my-app/Program.cs" <<'CS'
using GroupRobust;
using GroupRobust.Data;
using GroupRobust.Evaluation;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Training;
using GroupRobust.Data.Images;
using GroupRobust.Distributed;
using GroupRobust.Imaging;
using GroupRobust.Pretrained;
using GroupRobust.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

TorchBackend.EnsureAvailable();
using var data = SyntheticGaussianDataset.Create(new SyntheticGaussianOptions { TrainSize = 200, Seed = 1 });
using var model = nn.Linear(2, 2);
using var evaluator = new WorstGroupEvaluator(data.Scheme);
var groups = new OracleIdentifier().Identify(data.Train);
using var jm1 = GroupRobust.Catalog.MethodCatalog.Jm1.Create(new GroupRobust.Catalog.MethodRequest { Train = data.Train, Groups = groups, Seeds = new SeedSource(2) });
using var optimizer = torch.optim.SGD(model.parameters(), 0.1);
var history = TrainingLoop.Run(jm1, model, optimizer, data, epochs: 2, batchSize: 32);
var result = evaluator.Evaluate(model, data.Test);
if (result.Count != data.Test.Count || history.Epochs.Count != 2 || history.Epochs[0].Method.Mixing is null) throw new Exception("unexpected result");
// the companion packages: a PNG through Skia, a torchvision ResNet-18, the tokenizer, a data-parallel shard
string png = Path.Combine(Path.GetTempPath(), $"consumer-{Environment.ProcessId}.png");
SkiaImageDecoder.Encode(png, new DecodedImage(4, 3, new byte[4 * 3 * 3]));
var image = new SkiaImageDecoder().Decode(png);
File.Delete(png);
using var resnet = Backbones.ResNet18(2);
var tokenizer = WordPieceTokenizer.FromVocabulary(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")));
var shard = new BatchShard([0, 1, 2, 3], 0, 2);
if (image.Width != 4 || resnet.parameters().Count() == 0 || tokenizer.Tokenize("hello").Single() != 4 || shard.Length != 2) throw new Exception("unexpected companion result");
Console.WriteLine($"consumer OK: {result}; {history.Method} selected epoch {history.Best.Epoch}; Imaging, Pretrained, Text and Distributed in use");
CS
echo "check-package-consumption: running README's install block"
(cd "$work" && HOME="$work" NUGET_PACKAGES="$packages" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 bash -euo pipefail install.sh > "$work/install.log" 2>&1) \
  || { cat "$work/install.log" >&2; echo "check-package-consumption: README's install block failed" >&2; exit 1; }
cd "$work/my-app"
for p in GroupRobust GroupRobust.Imaging GroupRobust.Pretrained GroupRobust.Text GroupRobust.Distributed; do
  grep -q "Include=\"$p\"" my-app.csproj || { echo "check-package-consumption: the block did not reference $p" >&2; exit 1; }
done
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_PACKAGES="$packages" dotnet run -v quiet 2>&1 | tail -n 5 > "$work/out.txt" || { cat "$work/out.txt" >&2; echo "check-package-consumption: the consumer project failed" >&2; exit 1; }
cat "$work/out.txt"
grep -q "consumer OK" "$work/out.txt" || { echo "check-package-consumption: the consumer did not report success" >&2; exit 1; }
