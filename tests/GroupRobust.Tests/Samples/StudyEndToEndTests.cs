using System.Diagnostics;
using GroupRobust.Data.Images;
using GroupRobust.Imaging;
using GroupRobust.Tests.Data.Features;
using GroupRobust.Tests.TestSupport;
using TorchSharp.PyBridge;

namespace GroupRobust.Tests.Samples;

/// <summary>The Study as a benchmark runner: one command on data in the published layouts (small fixtures made here).</summary>
public class StudyEndToEndTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string StudyDll() => RepositoryPaths.BuiltDll("samples/GroupRobust.Study", "GroupRobust.Study");

    private (int Code, string Output) Study(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(StudyDll());
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["COLUMNS"] = "200";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(4)), "the Study did not finish in 4 minutes");
        string text = stdout.Result + stderr.Result;
        output.WriteLine(text);
        return (process.ExitCode, text);
    }

    /// <summary>
    /// The Study on the Gaussian task with the MLP and <paramref name="args"/>, writing to <paramref name="outputDirectory"/>:
    /// asserts that it refused the command line (exit code 2) and returns its message.
    /// </summary>
    private string Refusal(string outputDirectory, params string[] args)
    {
        var (code, message) = Study(["--dataset", "gaussian", "--backbone", "mlp", .. args, "--output", outputDirectory]);
        Assert.True(code == 2, $"exit code {code}, not 2: {message}");
        return message;
    }

    /// <summary>A tiny image with the bird's colour (the label) in the middle and the background's (the place) around it.</summary>
    private static DecodedImage Bird(int y, int place)
    {
        const int side = 32;
        var rgb = new byte[side * side * 3];
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++)
            {
                bool bird = Math.Abs(r - 16) < 7 && Math.Abs(c - 16) < 7;
                int o = (r * side + c) * 3;
                rgb[o] = (byte)(bird ? (y == 1 ? 220 : 30) : 90);
                rgb[o + 1] = (byte)(bird ? 90 : (place == 1 ? 40 : 200));
                rgb[o + 2] = (byte)(bird ? 90 : (place == 1 ? 210 : 60));
            }
        return new DecodedImage(side, side, rgb);
    }

    /// <summary>Waterbirds' layout: metadata.csv (img_id, img_filename, y, split, place, place_filename) and species folders of JPEGs.</summary>
    private static void WriteWaterbirds(string root)
    {
        var lines = new List<string> { "img_id,img_filename,y,split,place,place_filename" };
        int id = 1;
        foreach (var split in new[] { 0, 0, 0, 1, 2 })
            for (int y = 0; y < 2; y++)
                for (int k = 0; k < 5; k++)
                {
                    int place = split == 0 ? (k == 0 ? 1 - y : y) : k % 2;   // 80% agree in training, balanced elsewhere
                    string folder = y == 1 ? "001.Black_footed_Albatross" : "094.White_breasted_Nuthatch";
                    Directory.CreateDirectory(Path.Combine(root, folder));
                    string file = $"{folder}/bird_{id}.jpg";
                    SkiaImageDecoder.Encode(Path.Combine(root, file), Bird(y, place), 90);
                    lines.Add($"{id++},{file},{y},{split},{place},/x/y.jpg");
                }
        File.WriteAllLines(Path.Combine(root, "metadata.csv"), lines);
    }

    [Fact]
    public void One_command_runs_the_protocol_on_waterbirds_on_disk()
    {
        using var dir = new TempDirectory();
        WriteWaterbirds(dir.File("waterbirds"));
        var (code, text) = Study("--dataset", "waterbirds", dir.File("waterbirds"), "--augment", "--methods", "erm", "jtt", "groupdro", "--epochs", "2", "--phase1-epochs", "1",
            "--batch-size", "8", "--no-labels-section", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("# GroupRobust study: Waterbirds", report);
        Assert.Contains("| JTT", report);
        Assert.Contains("| GroupDRO | train groups", report);
        Assert.Contains("(landbird, water)", report);   // the per-group table names Waterbirds' groups
        // progress as people expect it, TensorBoard event files of every run, the plots
        Assert.Contains("seed 0 JTT", text);
        Assert.Matches(@"epoch 2/2  loss \d+\.\d+  val avg \d+\.\d%", text);
        Assert.Contains("ETA 0:00", text);
        var runs = Directory.GetDirectories(dir.File("out/tensorboard")).Select(Path.GetFileName).ToList();
        Assert.Contains("seed_0_ERM", runs);
        Assert.Contains("seed_0_GroupDRO", runs);
        Assert.All(runs, r => Assert.NotEmpty(Directory.GetFiles(dir.File("out/tensorboard/" + r), "events.out.tfevents.*")));
        foreach (var png in new[] { "val-worst-group.png", "val-average.png", "test-per-group.png" }) Assert.True(new FileInfo(dir.File("out/" + png)).Length > 10_000, png);
    }

    [Fact]
    public void Help_lists_every_catalog_entry_and_methods_all_runs_each_of_them_as_the_recipe_does_by_default_with_a_subpopbench_selection_rule()
    {
        var (helpCode, help) = Study("--help");
        Assert.Equal(0, helpCode);
        var flat = System.Text.RegularExpressions.Regex.Replace(help, @"\s+", " ");
        foreach (var key in GroupRobust.Catalog.MethodCatalog.Methods.Select(e => e.Key)
                     .Concat(GroupRobust.Catalog.MethodCatalog.LastLayer.Select(e => e.Key))
                     .Concat(GroupRobust.Catalog.MethodCatalog.Identifiers.Select(e => e.Key)))
            Assert.Contains(key, flat);
        Assert.Contains("class-difference", flat);

        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "300", "--methods", "all", "--selection", "class-difference",
            "--epochs", "1", "--phase1-epochs", "1", "--no-labels-section", "false", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        // a row per training method and per last-layer method, each with the labels it read; a method with a published grid
        // searched on validation, as TwoPhaseRecipe.Run trains it by default
        foreach (var name in new[] { "| JTT (T and λ by grid) |", "| c-MixUp (by grid) |", "| MixUp (by grid) |", "| CVaR-DRO (by grid) |", "| Focal (by grid) |", "| SPARE (by grid) |", "| JM1 (input) |",
                     "| ReWeight |", "| SqrtReWeight |", "| CBLoss (β=0.9999) |", "| LDAM (by grid) |", "| Balanced softmax (by grid) |", "| LfF (by grid) |", "| IRM (λ=100) |", "| MMD (γ=1) |", "| CORAL (γ=1) |",
                     "| CRT (ERM backbone) |", "| ReWeightCRT (ERM backbone) |", "| VanillaCRT (ERM backbone) |", "| GroupDRO |", "| LISA |", "| DFR (ERM backbone) |", "| AFR |" })
            Assert.Contains(name, report);
        Assert.Contains("| ReWeight | train groups |", report);
        Assert.Contains("| Focal (by grid) | none |", report);   // selected by the class difference: no group label anywhere
        Assert.DoesNotContain("| Focal (γ=1) |", report);
        Assert.Contains("## Against ERM", report);
        Assert.Contains("| VanillaCRT (ERM backbone) | none |", report);
    }

    [Fact]
    public void Against_ERM_pairs_every_row_with_ERM_on_its_seed_and_names_the_label_light_rows_below_it()
    {
        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "300", "--methods", "erm", "jm1", "mixup", "groupdro", "dfr", "--seeds", "0", "1",
            "--epochs", "2", "--phase1-epochs", "2", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("out/results.json")));
        // every row's test worst-group accuracy per seed, from results.json: the rows, then the no-labels section's JM1 at each T
        var perSeed = new Dictionary<string, Dictionary<int, double>>();
        void Record(string name, System.Text.Json.JsonElement result)
            => (perSeed.TryGetValue(name, out var d) ? d : perSeed[name] = [])[result.GetProperty("seed").GetInt32()] = result.GetProperty("test").GetProperty("worstGroupAccuracy").GetDouble();
        foreach (var r in json.RootElement.GetProperty("results").EnumerateArray()) Record(r.GetProperty("method").GetString()!, r);
        foreach (var n in json.RootElement.GetProperty("noLabels").EnumerateArray()) Record(n.GetProperty("rowName").GetString()!, n.GetProperty("result"));
        Assert.Equal("erm", json.RootElement.GetProperty("results")[0].GetProperty("spec").GetString());
        var erm = perSeed["ERM"];
        double gap = perSeed["GroupDRO"].Values.Average() - erm.Values.Average();
        // the seeds on which the library warned while a row trained, by the row's spec (a no-labels row's scope is its name)
        var specs = json.RootElement.GetProperty("results").EnumerateArray().GroupBy(r => r.GetProperty("method").GetString()!).ToDictionary(g => g.Key, g => g.First().GetProperty("spec").GetString()!);
        string Warned(string name) => string.Join(", ", json.RootElement.GetProperty("warnings").EnumerateArray()
            .Where(w => w.GetProperty("scope").GetString() == specs.GetValueOrDefault(name, name)).Select(w => w.GetProperty("seed").GetInt32()).Distinct().Order());

        var section = report[report.IndexOf("## Against ERM", StringComparison.Ordinal)..report.IndexOf("## Warnings the library logged", StringComparison.Ordinal)];
        var rows = System.Text.RegularExpressions.Regex.Matches(section, @"^\| (?<name>[^|]+?) \| (?<labels>[^|]+?) \| (?<light>✓?) \| (?<diff>[+-][0-9.]+) ± (?<std>[0-9.]+) \| (?<below>[0-9]) of 2 \| (?<p>[0-9.]+|n/a) \| (?<gap>[^|]+?) \| (?<warned>[0-9, ]*) \|$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.Equal(perSeed.Count - 1, rows.Count);   // every row but ERM, each paired over both seeds
        var (below, significant) = (new List<string>(), new List<string>());
        foreach (System.Text.RegularExpressions.Match row in rows)
        {
            string name = row.Groups["name"].Value;
            var differences = perSeed[name].Select(kv => kv.Value - erm[kv.Key]).ToList();
            double mean = differences.Average(), std = Math.Sqrt(differences.Average(d => (d - mean) * (d - mean)));
            Assert.Equal(mean * 100, double.Parse(row.Groups["diff"].Value, System.Globalization.CultureInfo.InvariantCulture), 0.051);
            Assert.Equal(std * 100, double.Parse(row.Groups["std"].Value, System.Globalization.CultureInfo.InvariantCulture), 0.051);
            Assert.Equal(differences.Count(d => d < 0), int.Parse(row.Groups["below"].Value, System.Globalization.CultureInfo.InvariantCulture));
            // the paired t-test: t = mean / (s / sqrt(2)), s the sample std of the two differences, Student's t with 1 degree of freedom
            double s = Math.Abs(differences[0] - differences[1]) / Math.Sqrt(2);
            if (s == 0) Assert.Equal("n/a", row.Groups["p"].Value);
            else
            {
                double p = 0.5 + Math.Atan(mean / (s / Math.Sqrt(2))) / Math.PI;   // the Cauchy CDF: Student's t at 1 degree of freedom
                Assert.Equal(p, double.Parse(row.Groups["p"].Value, System.Globalization.CultureInfo.InvariantCulture), 0.0006);
                if (p < 0.05 && mean < 0) significant.Add(name);
            }
            if (gap > 0) Assert.Equal(mean / gap * 100, double.Parse(row.Groups["gap"].Value.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture), 0.51);
            Assert.Equal(Warned(name), row.Groups["warned"].Value.Trim());
            // label-light: no training group label read (DFR fits on validation groups, GroupDRO trains on the true groups)
            bool light = row.Groups["labels"].Value is "none" or "validation groups (selection)";
            Assert.Equal(light, row.Groups["light"].Value == "✓");
            Assert.Equal(name is not ("GroupDRO" or "DFR (ERM backbone)"), light);
            if (light && mean < 0) below.Add(name);
        }
        // the best label-light row by mean (the first in the report's order on ties: T chosen on validation may equal a fixed T's row)
        var lightRows = perSeed.Where(kv => kv.Key is not ("ERM" or "GroupDRO" or "DFR (ERM backbone)")).ToList();
        var named = System.Text.RegularExpressions.Regex.Match(section, "Best label-light row: (?<name>[^\n]+?), [+-][0-9.]+( ± [0-9.]+)? points").Groups["name"].Value;
        Assert.Equal(lightRows.Max(kv => kv.Value.Values.Average()), perSeed[named].Values.Average(), 1e-12);
        var verdict = section[section.IndexOf("Label-light rows below ERM's mean worst-group: ", StringComparison.Ordinal)..];
        if (below.Count == 0) Assert.Contains("Label-light rows below ERM's mean worst-group: none.", section);
        foreach (var name in below) Assert.Contains($"{name} (", verdict);
        foreach (var name in perSeed.Keys.Except(below)) Assert.DoesNotContain($"{name} (", verdict);
        if (below.Count > 0)
        {
            var tested = section[section.IndexOf("Of them, below ERM by a paired one-sided t-test at p < 0.05: ", StringComparison.Ordinal)..];
            if (!significant.Intersect(below).Any()) Assert.StartsWith("Of them, below ERM by a paired one-sided t-test at p < 0.05: none.", tested);
            foreach (var name in below) Assert.Equal(significant.Contains(name), tested.Contains(name, StringComparison.Ordinal));
        }

        // without any label, T is chosen as the fixed-T run of best validation average accuracy (the smallest T on ties),
        // and that row is the chosen run's, under its own name, with its warnings
        var noLabels = json.RootElement.GetProperty("noLabels").EnumerateArray().ToList();
        foreach (int seed in new[] { 0, 1 })
        {
            var ofSeed = noLabels.Where(n => n.GetProperty("seed").GetInt32() == seed).ToList();
            var chosen = Assert.Single(ofSeed, n => n.GetProperty("tByValidation").GetBoolean());
            Assert.Equal("JM1 without group labels, T by validation average accuracy", chosen.GetProperty("rowName").GetString());
            var fixedT = ofSeed.Where(n => !n.GetProperty("tByValidation").GetBoolean()).OrderBy(n => n.GetProperty("t").GetInt32()).ToList();
            Assert.Equal([1, 2], fixedT.Select(n => n.GetProperty("t").GetInt32()));
            static double BestAverage(System.Text.Json.JsonElement n) => n.GetProperty("result").GetProperty("validationHistory").EnumerateArray()
                .Max(e => e.GetProperty("result").GetProperty("averageAccuracy").GetDouble());
            var expected = fixedT.First(n => BestAverage(n) == fixedT.Max(BestAverage));
            Assert.Equal(expected.GetProperty("t").GetInt32(), chosen.GetProperty("t").GetInt32());
            Assert.Equal(expected.GetProperty("result").GetProperty("test").GetRawText(), chosen.GetProperty("result").GetProperty("test").GetRawText());
            Assert.Equal(expected.GetProperty("result").GetProperty("bestEpoch").GetInt32(), chosen.GetProperty("result").GetProperty("bestEpoch").GetInt32());
            Assert.Equal("None", chosen.GetProperty("result").GetProperty("labelsUsed").GetString());
            Assert.Equal(Warned(expected.GetProperty("rowName").GetString()!).Contains($"{seed}", StringComparison.Ordinal),
                Warned("JM1 without group labels, T by validation average accuracy").Contains($"{seed}", StringComparison.Ordinal));
        }
        var noLabelSection = report[report.IndexOf("## No group labels", StringComparison.Ordinal)..];
        Assert.Matches(@"\| by validation average \([12]/[12]\) \| none \|", noLabelSection);
        Assert.True(noLabelSection.IndexOf("| by validation average", StringComparison.Ordinal) < noLabelSection.IndexOf("| 1 | none |", StringComparison.Ordinal), "the chosen T's row comes first");
    }

    [Fact]
    public void The_report_lists_the_librarys_warnings_by_row_and_seed_and_the_comparison_names_the_warned_seeds()
    {
        // a learning rate too small to move a weight: every run's model is phase I's at every epoch, so JM1's run never
        // beats phase I on validation worst-group and the recipe warns (event 144) on every seed, as it does for MixUp,
        // which never beats ERM (event 148); the no-labels runs read no group label and are not judged on them
        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "300", "--methods", "erm", "jm1", "mixup", "--seeds", "0", "1",
            "--epochs", "2", "--phase1-epochs", "2", "--lr", "1e-12", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("out/results.json")));
        var warnings = json.RootElement.GetProperty("warnings").EnumerateArray()
            .Select(w => (Seed: w.GetProperty("seed").GetInt32(), Scope: w.GetProperty("scope").GetString()!, Id: w.GetProperty("eventId").GetInt32(), Message: w.GetProperty("message").GetString()!)).ToList();
        foreach (int seed in new[] { 0, 1 })
        {
            Assert.Single(warnings, w => w.Seed == seed && w.Scope == "jm1" && w.Id == 144 && w.Message.StartsWith("JM1 (input) on the groups of ERM misclassified: ", StringComparison.Ordinal));
            Assert.Single(warnings, w => w.Seed == seed && w.Scope == "mixup" && w.Id == 148 && w.Message.StartsWith("MixUp: no epoch reached a better validation worst-group", StringComparison.Ordinal));   // a method without groups against ERM
        }
        Assert.DoesNotContain(warnings, w => w.Id == 144 && w.Scope.StartsWith("JM1 without group labels", StringComparison.Ordinal));
        // of the two candidate T, the main JM1 run is the no-labels run at its T; the other T's no-labels run trained (and would have warned)
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(text, "without labels: the main JM1 run above is this run").Count);
        // every warning the console printed is recorded, none twice, and none that it did not print (but for a no-labels
        // row's copies of the main JM1 run's, when it is that run, and the chosen T's row's copies of that T's row)
        var logged = warnings.Where(w => !(w.Scope.StartsWith("JM1 without group labels", StringComparison.Ordinal)
            && warnings.Any(o => o.Seed == w.Seed && o.Scope == "jm1" && o.Id == w.Id && o.Message == w.Message))
            && w.Scope != "JM1 without group labels, T by validation average accuracy").ToList();
        var printed = System.Text.RegularExpressions.Regex.Matches(text, @"warn: \S+\[(?<id>\d+)\] (?<message>.+)$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => (Id: int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture), Message: m.Groups["message"].Value.TrimEnd())).ToList();
        Assert.Equal(printed.Order(), logged.Select(w => (w.Id, w.Message)).Order());

        var section = report[report.IndexOf("## Warnings the library logged", StringComparison.Ordinal)..report.IndexOf("## Table 2", StringComparison.Ordinal)];
        foreach (var group in warnings.GroupBy(w => (w.Scope, w.Seed, w.Id)))
        {
            string row = group.Key.Scope switch { "jm1" => "JM1 (input) (`jm1`)", "mixup" => "MixUp (`mixup`)", var other => other };
            Assert.Contains($"| {row} | {group.Key.Seed} | {group.Key.Id} | {group.Count()} | {group.First().Message.Replace("|", "\\|", StringComparison.Ordinal)} |", section);
        }
        Assert.Equal(warnings.GroupBy(w => (w.Scope, w.Seed, w.Id)).Count(), section.Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal)) - 1);   // and no other line
        Assert.Matches(@"\| JM1 \(input\) \| validation groups \(selection\) \| ✓ \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| 0, 1 \|", report);
        Assert.Matches(@"\| MixUp \| validation groups \(selection\) \| ✓ \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| 0, 1 \|", report);
        Assert.Contains("warned jm1: ", Flat(text));
    }

    [Fact]
    public void Set_changes_an_entrys_options_for_its_rows_and_the_report_says_so_and_ssa_rows_count_validation_groups()
    {
        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "300", "--methods", "erm", "mmd", "groupdro@ssa", "afr",
            "--set", "mmd.PenaltyWeight=0.25", "ssa.Steps=5", "ssa.splits=2", "ssa.Pass.BatchSize=100", "afr.Gammas=3.25,7.75", "afr.Steps=20",
            "--epochs", "1", "--phase1-epochs", "1", "--no-labels-section", "false", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("Options set (--set): mmd.PenaltyWeight=0.25, ssa.Steps=5, ssa.splits=2, ssa.Pass.BatchSize=100, afr.Gammas=3.25,7.75, afr.Steps=20.", report);
        Assert.Contains("| MMD (γ=0.25) | train groups |", report);
        // a list-valued option: AFR searched the two gammas given (neither is in its default grid) for at most 20 steps
        var afr = System.Text.RegularExpressions.Regex.Match(Flat(text), @"AFR: gamma ([0-9.]+), lambda [0-9.]+, step ([0-9]+)");
        Assert.True(afr.Success, text);
        Assert.Contains(afr.Groups[1].Value, new[] { "3.25", "7.75" });
        Assert.InRange(int.Parse(afr.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 20);
        // SSA fits on the validation split's group labels, and the row trained on its groups says so
        Assert.Contains("| GroupDRO on SSA attributes | validation groups (fitting) |", report);

        Assert.Contains("'nope' is not a catalog key", Flat(Refusal(dir.File("out2"), "--methods", "erm", "--set", "nope.Steps=1")));
        Assert.Contains("FeatureAlignmentOptions has no option 'Weight' settable here; it has Kernel, PenaltyWeight", Flat(Refusal(dir.File("out3"), "--methods", "erm", "--set", "mmd.Weight=1")));
        Assert.Contains("'Cosine' is not a value of Kernel's type FeatureKernel (Gaussian, MeanCovariance)", Flat(Refusal(dir.File("out4"), "--methods", "erm", "--set", "mmd.Kernel=Cosine")));
        // nested options: a record of the entry's options, by name; a value out of range reaches the identifier, which names it
        Assert.Contains("IdentificationOptions has no option 'BatchSiz' settable here; it has BatchSize, Epoch.", Flat(Refusal(dir.File("out5"), "--methods", "erm", "--set", "ssa.Pass.BatchSiz=5")));
        Assert.Contains("'4,x' is not a value of Gammas's type a comma-separated list of Double.", Flat(Refusal(dir.File("out6"), "--methods", "erm", "--set", "afr.Gammas=4,x")));
        var (reached, reachedMessage) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "300", "--methods", "erm", "groupdro@ssa", "--set", "ssa.Pass.BatchSize=0",
            "--epochs", "1", "--phase1-epochs", "1", "--tensorboard", "false", "--output", dir.File("out7"));
        Assert.NotEqual(0, reached);
        Assert.Contains("(Parameter 'BatchSize')", Flat(reachedMessage));
    }

    /// <summary>The console's text with its line wrapping undone.</summary>
    private static string Flat(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ");

    [Fact]
    public void The_multi_attribute_benchmark_takes_two_colours_and_colours_is_refused_elsewhere_or_out_of_range()
    {
        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "multi-attribute-fashion-mnist", "--colours", "2", "--train-size", "300", "--methods", "erm",
            "--epochs", "1", "--phase1-epochs", "1", "--no-labels-section", "false", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("# GroupRobust study: Multi-attribute Fashion-MNIST (3 labels x 2 background colours)", report);
        Assert.Contains("train size 300, 2 colours, spurious correlation 0.9", report);
        // six groups: every label on orange and blue, none on the third colour
        Assert.Contains("| method | (Sandal+Sneaker, orange) | (Sandal+Sneaker, blue) | (Bag+Ankle boot, orange) | (Bag+Ankle boot, blue) | (T-shirt/top+Pullover, orange) | (T-shirt/top+Pullover, blue) |", report);
        Assert.DoesNotContain("green", report);
        foreach (var given in new[] { "2", "3" })   // given at all, even at the benchmark's default
            Assert.Contains("--colours applies to --dataset multi-attribute-fashion-mnist, not to gaussian", Flat(Refusal(dir.File("refused"), "--colours", given, "--methods", "erm")));
        var (outOfRange, message) = Study("--dataset", "multi-attribute-fashion-mnist", "--colours", "4", "--methods", "erm", "--output", dir.File("refused"));
        Assert.True(outOfRange == 2, $"exit code {outOfRange}, not 2: {message}");
        Assert.Contains("the multi-attribute benchmark has 2 or 3 background colours", Flat(message));
    }

    [Fact]
    public void JTT_rows_compare_the_automatic_lambda_a_fixed_one_the_grid_and_a_choice_of_identifiers_on_the_gaussian_task()
    {
        using var dir = new TempDirectory();
        var (code, text) = Study("--dataset", "gaussian", "--backbone", "mlp", "--train-size", "600", "--methods", "erm", "jtt:auto", "jtt:20", "jtt:grid",
            "jtt@misclassified+gce-biased:20", "jtt@gce-biased:grid", "jtt@gce-biased:1", "jtt@gce-biased:2", "jtt", "cvar-dro:grid", "--identifiers", "spare", "gce-biased",
            "--epochs", "2", "--phase1-epochs", "2", "--no-labels-section", "false", "--tensorboard", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("train size 600, 10 dimensions, spurious correlation 0.98", report);   // the JM1 paper's Appendix C: 2% minority, 10 dimensions
        // the automatic lambda trains, or (an error set of a quarter of this small split or more, which a CPU's kernels
        // may tip either way) is refused and reported as such; the other rows go on
        bool refused = report.Contains("- `jtt:auto`, seed 0: Automatic lambda", StringComparison.Ordinal);
        if (!refused)
        {
            Assert.Contains("| JTT (automatic λ) | validation groups (selection)", report);
            Assert.Matches(@"JTT \(automatic λ\): seed 0 ran JTT \(λ=\d+\) at T = [12]", report);
        }
        Assert.Contains("| JTT (λ=20) |", report);
        Assert.Contains("| JTT (T and λ by grid) | validation groups (selection)", report);
        Assert.Matches(@"JTT \(T and λ by grid\): seed 0 ran JTT \(λ=(20|50|100|0)\) at T = [12]", report);
        // the identifier chosen on validation: the row names its candidates, the notes say which won on each seed
        Assert.Contains("| JTT (λ=20) on the best of ERM misclassified, GCE-biased model's errors | validation groups (selection)", report);
        Assert.Matches(@"JTT \(λ=20\) on the best of ERM misclassified, GCE-biased model's errors: seed 0 ran JTT \(λ=20\) on (ERM misclassified at T = [12]|GCE-biased model's errors)", report);
        // on an identifier's groups without phase I the grid searches lambda alone (lambda = 0 once); rows that differ in
        // lambda alone are rows of their own, and a second row whose run has another row's name is named for its spec
        Assert.Contains("| JTT (λ by grid) on GCE-biased model's errors | validation groups (selection)", report);
        Assert.Matches(@"JTT \(λ by grid\) on GCE-biased model's errors: seed 0 ran JTT \(λ=(20|50|100|0)\)", report);
        // on this small split the biased model's errors may be most of a class: the search then skips its upsampling
        // settings and says so (the automatic lambda's guard), and lambda = 0 trains alone
        bool skipped = Flat(text).Contains("JTT's search skips its upsampling settings on the groups of GCE-biased model's errors: their minority side holds ", StringComparison.Ordinal);
        Assert.Equal(skipped ? 1 : 4, System.Text.RegularExpressions.Regex.Matches(text, @"seed 0 JTT \(λ=(20|50|100|0)\) on GCE-biased model's errors: epoch 2/2").Count);
        if (skipped) Assert.Contains("JTT (λ by grid) on GCE-biased model's errors: seed 0 ran JTT (λ=0)", report);
        Assert.Contains("| JTT (λ=1) on GCE-biased model's errors |", report);
        Assert.Contains("| JTT (λ=2) on GCE-biased model's errors |", report);
        Assert.Contains("| JTT (λ=20) [jtt] |", report);
        Assert.Contains("jtt: its run is named 'JTT (λ=20)' as jtt:20's is", text);
        // identifiers no row trains on are in the quality table: SPARE at every candidate T, the GCE-biased model once
        Assert.Matches(@"\| 0 \| SPARE clusters \| 1 \|", report);
        Assert.Matches(@"\| 0 \| SPARE clusters \| 2 \|", report);
        Assert.Matches(@"\| 0 \| GCE-biased model's errors \| - \|", report);
        // the grid trains every (T, lambda > 0) and lambda = 0 once: 2 x 3 + 1 runs of JTT beside the automatic and the two fixed ones
        Assert.Equal((refused ? 2 : 3) + 2 * 3 + 1, System.Text.RegularExpressions.Regex.Matches(text, @"seed 0 JTT \(λ=\d+\): epoch 2/2").Count);
        // a method without groups searches its published grid (CVaR-DRO: the JTT paper's alphas, and alpha = 1, the
        // recipe's ERM run, last) and says which won
        Assert.Contains("| CVaR-DRO (by grid) | validation groups (selection)", report);
        Assert.Contains("Searched grids (METHOD:grid) keep the method over its off setting, the recipe's ERM run, only when its validation score is higher by more than one standard error", report);
        Assert.Matches(@"CVaR-DRO \(by grid\): seed 0 ran CVaR-DRO \(α=(0\.[125]|1)\)", report);
        Assert.Equal(["0.1", "0.2", "0.5", "1"], System.Text.RegularExpressions.Regex.Matches(text, @"seed 0 CVaR-DRO \(α=([0-9.]+)\): epoch 2/2").Select(m => m.Groups[1].Value));

        Assert.Contains("JTT's part after the colon is its lambda: auto, grid", Refusal(dir.File("out2"), "--methods", "erm", "jtt:many"));
        Assert.Contains("No identifier 'nope'. Known: misclassified", Refusal(dir.File("out4"), "--methods", "erm", "--identifiers", "nope"));
        Assert.Contains("choose among identifiers at a fixed lambda", Refusal(dir.File("out3"), "--methods", "erm", "jtt@misclassified+xrm:grid"));
        Assert.Contains("GroupDRO has none; grids: jtt:grid (T and lambda), cmixup:grid, mixup:grid, cvar-dro:grid, lff:grid, focal:grid, ldam:grid, bsoftmax:grid, spare-sampling:grid.", Flat(Refusal(dir.File("out6"), "--methods", "erm", "groupdro:grid")));
        Assert.Contains("an identifier is named twice ('xrm')", Refusal(dir.File("out5"), "--methods", "erm", "jm1@xrm+xrm"));
    }

    [Fact]
    public void A_resnet18_with_torchvision_weights_runs_on_a_normalized_csv()
    {
        using var dir = new TempDirectory();
        WriteWaterbirds(dir.File("data"));
        // the normalized layout (id, filename, split, y, a) over the same images
        var meta = File.ReadAllLines(dir.File("data/metadata.csv")).Skip(1).Select(l => l.Split(','));
        File.WriteAllLines(dir.File("data/subpop.csv"), ["id,filename,split,y,a", .. meta.Select(p => $"{p[0]},{p[1]},{p[3]},{p[2]},{p[4]}")]);
        using (var source = TorchSharp.torchvision.models.resnet18()) source.save_py(dir.File("resnet18.pth"));   // a 1000-class checkpoint, as torchvision's
        var (code, text) = Study("--dataset", "csv", dir.File("data/subpop.csv"), "--backbone", "resnet18", "--weights", dir.File("resnet18.pth"),
            "--methods", "erm", "--epochs", "1", "--phase1-epochs", "1", "--batch-size", "10", "--no-labels-section", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("subpop.csv (normalized CSV)", report);
        Assert.Contains("Backbone: resnet18, from resnet18.pth", report);
    }

    [Fact]
    public void The_packaged_imagenet_resnet_runs_on_a_normalized_csv()
    {
        using var dir = new TempDirectory();
        WriteWaterbirds(dir.File("data"));
        var meta = File.ReadAllLines(dir.File("data/metadata.csv")).Skip(1).Select(l => l.Split(','));
        File.WriteAllLines(dir.File("data/subpop.csv"), ["id,filename,split,y,a", .. meta.Select(p => $"{p[0]},{p[1]},{p[3]},{p[2]},{p[4]}")]);
        var (code, text) = Study("--dataset", "csv", dir.File("data/subpop.csv"), "--backbone", "resnet18-imagenet",
            "--methods", "erm", "dfr", "--epochs", "1", "--phase1-epochs", "1", "--batch-size", "10", "--no-labels-section", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        var report = File.ReadAllText(dir.File("out/report.md"));
        Assert.Contains("Backbone: resnet18-imagenet (ImageNet weights from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package)", report);
        Assert.Contains("DFR", report);
    }

    [Fact]
    public void MultiNli_with_converted_features_runs_and_bad_data_gets_one_clear_error()
    {
        using var dir = new TempDirectory();
        int n = 60, length = 6;
        var rng = new Random(3);
        var rows = Enumerable.Range(0, n).Select(i => (Label: i % 3, Negation: i % 7 == 0 ? 1 - (i % 2) : i % 2, Split: i < 36 ? 0 : i < 48 ? 1 : 2)).ToArray();
        File.WriteAllLines(dir.File("metadata_random.csv"), [",gold_label,sentence2_has_negation,split", .. rows.Select((r, i) => $"{i},{r.Label},{r.Negation},{r.Split}")]);
        long[] ids = rows.SelectMany(r => Enumerable.Range(0, length).Select(k => (long)(k == 0 ? 100 + r.Label : rng.Next(1000, 2000)))).ToArray();
        long[] mask = Enumerable.Repeat(1L, n * length).ToArray();
        long[] segments = new long[n * length];
        byte[] Bytes(long[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
        FeatureFileTests.WriteSafetensors(dir.File("multinli.safetensors"),
            ("input_ids", "I64", [n, length], Bytes(ids)), ("input_mask", "I64", [n, length], Bytes(mask)),
            ("segment_ids", "I64", [n, length], Bytes(segments)), ("label_ids", "I64", [n], Bytes(rows.Select(r => (long)r.Label).ToArray())));
        var (code, text) = Study("--dataset", "multinli", dir.Path, "--backbone", "bag-of-words", "--mixing-layer", "hidden", "--methods", "erm", "jm1", "groupdro",
            "--epochs", "2", "--phase1-epochs", "1", "--batch-size", "12", "--no-labels-section", "false", "--output", dir.File("out"));
        Assert.True(code == 0, $"exit code {code}: {text}");
        Assert.Contains("# GroupRobust study: MultiNLI", File.ReadAllText(dir.File("out/report.md")));

        // a metadata row whose label disagrees with the features: exit code 3 and the loader's message, no stack trace
        var lines = File.ReadAllLines(dir.File("metadata_random.csv"));
        lines[5] = "4,2,0,0";
        File.WriteAllLines(dir.File("metadata_random.csv"), lines);
        var (bad, message) = Study("--dataset", "multinli", dir.Path, "--backbone", "bag-of-words", "--methods", "erm", "--epochs", "1", "--phase1-epochs", "1",
            "--no-labels-section", "false", "--output", dir.File("out2"));
        Assert.Equal(3, bad);
        Assert.Contains("line 6", message);
        Assert.DoesNotContain("   at ", message);
        // a missing path and a backbone that cannot read the data are refused before anything runs
        Assert.Equal(2, Study("--dataset", "waterbirds").Code);
        Assert.Equal(2, Study("--dataset", "multinli", dir.Path, "--backbone", "small-cnn").Code);
    }
}
