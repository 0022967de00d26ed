using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using GroupRobust;
using GroupRobust.Data.FashionMnist;
using GroupRobust.Evaluation;
using GroupRobust.Mixing;
using GroupRobust.Study;
using GroupRobust.Study.Reporting;
using GroupRobust.Training;
using Microsoft.Extensions.Logging;
using Spectre.Console;

var methods = new Option<string[]>("--methods")
{
    Description = "Rows to run, each [LASTLAYER/]METHOD[@IDENTIFIER][:LAYER] of catalog keys, or all (every method of the catalog on its published groups as the library's recipe trains it by default, its published grid searched where it has one, then every last-layer method) (a method on an identifier's groups, at a mixing layer, optionally with its last layer retrained); METHOD@A+B+... trains on each identifier's groups and keeps the run that validates best; jtt:grid searches T and lambda, METHOD:grid a method's published grid (cmixup, mixup, cvar-dro, lff, focal, ldam, bsoftmax; spare-sampling with T) on validation. " +
                  $"Methods: {string.Join(", ", GroupRobust.Catalog.MethodCatalog.Methods.Select(e => e.Key))}. Identifiers: {string.Join(", ", GroupRobust.Catalog.MethodCatalog.Identifiers.Select(e => e.Key))}. " +
                  $"Last-layer methods: {string.Join(", ", GroupRobust.Catalog.MethodCatalog.LastLayer.Select(e => e.Key))}. Default: {string.Join(" ", StudyRow.Defaults)}",
    AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => StudyRow.Defaults,
};
var identifiers = new Option<string[]>("--identifiers")
{
    Description = $"Identifiers whose error sets are reported in the quality table (precision, recall) even when no row trains on them, a phase-I one at every candidate T: {string.Join(", ", GroupRobust.Catalog.MethodCatalog.Identifiers.Select(e => e.Key))}",
    AllowMultipleArgumentsPerToken = true,
};
var set = new Option<string[]>("--set")
{
    Description = "KEY.Option=VALUE: an option of a catalog entry's options for every row that builds it, e.g. mmd.PenaltyWeight=0.1 or ssa.Steps=300 (repeatable; a number, boolean, string, enum, a type with a Parse, or a comma-separated list of them; nested records by path, e.g. ssa.Pass.BatchSize=128 or afr.Gammas=4,8)",
    AllowMultipleArgumentsPerToken = true,
};
var epochs = new Option<int>("--epochs") { Description = "Training epochs per method", DefaultValueFactory = _ => 8 };
var phase1 = new Option<int>("--phase1-epochs") { Description = "Phase-I candidates: T is chosen in 1..N on validation", DefaultValueFactory = _ => 3 };
var rule = new Option<string>("--identification-rule") { Description = "How T is chosen: error-set-f1 (validation errors as a detector of the minority groups, both from validation; default), worst-group or average (phase-I validation accuracy), joint (JTT's protocol: T and the phase-II epoch together), oracle-f1 (ORACLE: minority groups from the training counts)", DefaultValueFactory = _ => "error-set-f1" };
var selection = new Option<string>("--selection") { Description = "Phase-II model selection on validation: worst-group or worst-attribute (validation groups); average, worst-class, class-balanced, mean-precision, worst-class-precision, mean-f1, worst-class-f1, auroc or class-difference (no group labels; SubpopBench's rules)", DefaultValueFactory = _ => "worst-group" };
var oneStandardError = new Option<bool>("--one-standard-error-rule") { Description = "A searched grid (METHOD:grid) keeps the method over its off setting, the recipe's ERM run, only when its validation score is higher by more than one standard error (false: strictly higher)", DefaultValueFactory = _ => true };
var noLabelsSection = new Option<bool>("--no-labels-section") { Description = "Also run the no-labels protocol (the paper's Table 4): JM1 for every candidate T, selected by validation average accuracy, and T chosen by that accuracy too", DefaultValueFactory = _ => true };
var seeds = new Option<int[]>("--seeds") { Description = "Seeds (each a full run)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [0] };
var full = new Option<bool>("--full") { Description = "The paper's protocol: seeds 0, 1, 2 and mean ± std" };
var batch = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => 64 };
var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 1e-3 };
var layer = new Option<string>("--mixing-layer") { Description = "JM1 mixing layer: input, block1, block2, output or random", DefaultValueFactory = _ => "input" };
var partners = new Option<PartnerSource?>("--partners") { Description = "Where JM1 draws partners: Dataset (the paper), Batch (the batch's own rows when it holds one: hidden-layer mixing without a second pass) or Paired (an epoch order that places a partner from the training set beside each anchor, then Batch's draw). Default: Dataset when mixing at the input, Paired at other layers (Jm1Options.Partners)" };
var detach = new Option<bool>("--detach-partners") { Description = "Run JM1's hidden-layer partner pass without gradients (faster, approximate; it implies the two-pass form, Dataset partners, unless --partners says otherwise)" };
var schedule = new Option<string>("--alpha-schedule") { Description = "uniform (U(0,1), the library's default and the JM1 paper's MultiNLI schedule), ub (U(0,1) then Beta(2,5), the paper's image schedule) or beta", DefaultValueFactory = _ => "uniform" };
var orientation = new Option<AlphaOrientation>("--orientation") { Description = "Which sample alpha weights: MinorityWeight (Eq. 1 as printed) or MajorityWeight", DefaultValueFactory = _ => AlphaOrientation.MajorityWeight };
var lambda = new Option<int>("--jtt-lambda") { Description = "JTT upsampling lambda of the jtt rows without one (jtt:grid searches 20, 50, 100 and 0)", DefaultValueFactory = _ => 20 };
var trainSize = new Option<int>("--train-size") { Description = "Training samples (after the validation hold-out; colored-fashion-mnist: a tenth per class)", DefaultValueFactory = _ => 10_000 };
var correlation = new Option<double>("--correlation") { Description = "Training fraction whose spurious attribute matches the label (default 0.95; gaussian 0.98, the JM1 paper's 2% minority per class; multi-attribute-fashion-mnist 0.90, the rest split 70 / 30 over the other colours, or on the other one with --colours 2)" };
var colours = new Option<int>("--colours") { Description = "Background colours of multi-attribute-fashion-mnist: 3 (default; the rest of each label split 70 / 30 over the other two) or 2 (the rest on the other colour: 3 labels x 2 colours, six groups as MultiNLI's)" };
var dimensions = new Option<int>("--dimensions") { Description = "Input dimension of --dataset gaussian: the core and spurious coordinates plus noise (default 10, as the JM1 paper's Appendix C)", DefaultValueFactory = _ => 10 };
var label0 = new Option<int[]?>("--label0") { Description = "Fashion-MNIST classes of label 0 (default 5 7: Sandal, Sneaker)", AllowMultipleArgumentsPerToken = true };
var label1 = new Option<int[]?>("--label1") { Description = "Fashion-MNIST classes of label 1 (default 8 9: Bag, Ankle boot)", AllowMultipleArgumentsPerToken = true };
var dataset = new Option<string[]>("--dataset") { Description = "The dataset: spurious-fashion-mnist (default), colored-fashion-mnist, multi-attribute-fashion-mnist (3 labels x 3 colours, minority groups of 7% and 3%; --colours 2 for 3 labels x 2 colours), gaussian, or one on disk: waterbirds DIR, celeba DIR, multinli DIR, csv FILE (docs/datasets.md)", AllowMultipleArgumentsPerToken = true, Arity = new System.CommandLine.ArgumentArity(1, 2) };
var backbone = new Option<string>("--backbone") { Description = "small-cnn (default, 3 x 28 x 28), resnet18, resnet50 (with --weights), mlp (feature vectors), bag-of-words (MultiNLI token ids)", DefaultValueFactory = _ => "small-cnn" };
var weights = new Option<string?>("--weights") { Description = "torchvision weights (.pth or .safetensors) for --backbone resnet18/resnet50; the head is new" };
var augment = new Option<bool>("--augment") { Description = "Train-time augmentation of image datasets (random resized crop and flip, as the references' --augment_data)" };
var dataDir = new Option<string>("--data-dir") { Description = "Fashion-MNIST folder", DefaultValueFactory = _ => FashionMnistFiles.DefaultDirectory };
var output = new Option<string>("--output") { Description = "Output folder (JSON, Markdown, PNG)", DefaultValueFactory = _ => "artifacts/study" };
var device = new Option<string>("--device") { Description = "cpu or cuda (needs a CUDA TorchSharp backend)", DefaultValueFactory = _ => "cpu" };
var verbose = new Option<bool>("--verbose") { Description = "Log the library's information messages (identification, mixing statistics)" };
var tensorBoard = new Option<bool>("--tensorboard") { Description = "Write TensorBoard event files of every run into OUTPUT/tensorboard (tensorboard --logdir OUTPUT/tensorboard)", DefaultValueFactory = _ => true };

var root = new RootCommand("GroupRobust study: ERM, JTT, JM1 (identified and oracle partitions), c-MixUp, MixUp and GroupDRO on Spurious Fashion-MNIST (or --dataset: Waterbirds, CelebA, MultiNLI, a CSV, ...), with worst-group model selection.");
foreach (var o in new Option[] { methods, identifiers, set, epochs, phase1, rule, selection, oneStandardError, noLabelsSection, seeds, full, batch, lr, layer, partners, detach, schedule, orientation, lambda, trainSize, correlation, colours, dimensions, label0, label1, dataset, backbone, weights, augment, dataDir, output, device, verbose, tensorBoard })
    root.Options.Add(o);

root.SetAction(parse =>
{
    var datasetName = parse.GetValue(dataset) is { Length: > 0 } ds ? ds[0] : "spurious-fashion-mnist";
    var options = new StudyOptions
    {
        Methods = StudyRow.Expand(parse.GetValue(methods)!),
        Identifiers = parse.GetValue(identifiers) ?? [],
        Set = parse.GetValue(set) ?? [],
        Epochs = parse.GetValue(epochs),
        Phase1Epochs = parse.GetValue(phase1),
        IdentificationRule = parse.GetValue(rule)!,
        Selection = parse.GetValue(selection)!,
        NoLabelsSection = parse.GetValue(noLabelsSection),
        OneStandardErrorRule = parse.GetValue(oneStandardError),
        Seeds = parse.GetValue(full) && parse.GetResult(seeds) is null or { Implicit: true } ? [0, 1, 2] : parse.GetValue(seeds)!,
        BatchSize = parse.GetValue(batch),
        LearningRate = parse.GetValue(lr),
        MixingLayer = parse.GetValue(layer)!,
        Partners = parse.GetValue(partners),
        DetachPartners = parse.GetValue(detach),
        AlphaSchedule = parse.GetValue(schedule)!,
        Orientation = parse.GetValue(orientation),
        JttLambda = parse.GetValue(lambda),
        TrainSize = parse.GetValue(trainSize),
        Correlation = parse.GetResult(correlation) is null or { Implicit: true } ? StudyOptions.DefaultCorrelation(datasetName) : parse.GetValue(correlation),
        Colours = parse.GetResult(colours) is null or { Implicit: true } ? null : parse.GetValue(colours),
        Dimensions = parse.GetValue(dimensions),
        Label0Classes = parse.GetValue(label0) is { Length: > 0 } l0 ? l0 : null,
        Label1Classes = parse.GetValue(label1) is { Length: > 0 } l1 ? l1 : null,
        DataDirectory = parse.GetValue(dataDir)!,
        Dataset = datasetName,
        DatasetPath = parse.GetValue(dataset) is { Length: > 1 } dp ? dp[1] : null,
        Backbone = parse.GetValue(backbone)!,
        Weights = parse.GetValue(weights),
        Augment = parse.GetValue(augment),
        OutputDirectory = parse.GetValue(output)!,
        TensorBoard = parse.GetValue(tensorBoard),
        Device = parse.GetValue(device)!,
    };
    try
    {
        options.Validate();
        TorchBackend.EnsureDevice(options.Device);
    }
    catch (Exception ex) when (ex is ArgumentException or TorchBackendUnavailableException)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
        return 2;
    }
    return Study.Run(options, parse.GetValue(verbose));
});
return root.Parse(args).Invoke();

internal static class Study
{
    public static int Run(StudyOptions options, bool verbose)
    {
        // a file or a pipe has no width: Spectre would wrap every table and long line at 80 columns
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
        // the console shows the library's warnings as they come; the recorder keeps them for the report, by row and seed
        var warnings = new WarningRecorder();
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .AddProvider(warnings).SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning));
        var clock = Stopwatch.StartNew();
        FashionMnistFiles? files = null;
        try
        {
            if (GroupRobust.Study.Data.StudyDatasets.UsesFashionMnist(options.Dataset)) files = FashionMnistFiles.Load(options.DataDirectory);
        }
        catch (FileNotFoundException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 3;
        }
        AnsiConsole.MarkupLineInterpolated($"[bold]GroupRobust study[/] on {options.Dataset}{(options.DatasetPath is null ? "" : $" ({options.DatasetPath})")} with {options.Backbone}{(options.Weights is null ? "" : $" from {Path.GetFileName(options.Weights)}")}: methods {string.Join(", ", options.Methods)}; {options.Epochs} epochs; seeds {string.Join(", ", options.Seeds)}; JM1 layer {options.MixingLayer} (partners: {options.Partners?.ToString() ?? "by layer"}{(options.DetachPartners ? ", detached" : "")}), alpha {options.Schedule().Name}, {options.Orientation}");
        var results = new List<MethodResult>();
        var identification = new List<IdentificationRecord>();
        var noLabels = new List<NoLabelRecord>();
        var refused = new List<RefusedRecord>();
        // a line per epoch with its ETA (the library's reporter), and TensorBoard event files per run
        var console = new ConsoleProgress(logger: loggers.CreateLogger("Progress"));
        var board = options.TensorBoard ? new TensorBoardProgress(Path.Combine(options.OutputDirectory, "tensorboard"), logger: loggers.CreateLogger("Progress")) : null;
        foreach (var seed in options.Seeds)
        {
            var runner = new StudyRunner(options, files, loggers, warnings, line => AnsiConsole.MarkupLineInterpolated($"[grey]seed {seed}[/] {line}"),
                (name, report) =>
                {
                    console.Report($"seed {seed} {name}", report);
                    board?.Report($"seed {seed} {name}", report);
                });
            List<MethodResult> r;
            List<IdentificationRecord> id;
            List<NoLabelRecord> nl;
            List<RefusedRecord> rf;
            try
            {
                (r, id, nl, rf) = runner.Run(seed);
            }
            catch (Exception ex) when (ex is FormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException)
            {
                // the data on disk does not fit its layout (the loaders name the file and the line), or an option does not
                // fit the data or the backbone (a mixing layer the model lacks, for example: the message lists its layers)
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
                return 3;
            }
            results.AddRange(r);
            identification.AddRange(id);
            noLabels.AddRange(nl);
            refused.AddRange(rf);
        }
        clock.Stop();

        Directory.CreateDirectory(options.OutputDirectory);
        var markdown = StudyReport.Markdown(options, results, identification, noLabels, refused, warnings.Records, clock.Elapsed);
        File.WriteAllText(Path.Combine(options.OutputDirectory, "report.md"), markdown);
        var json = JsonSerializer.Serialize(new { options, elapsedSeconds = clock.Elapsed.TotalSeconds, results, identification, noLabels, refused, warnings = warnings.Records },
            new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { new JsonStringEnumConverter() }, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals });
        File.WriteAllText(Path.Combine(options.OutputDirectory, "results.json"), json);
        StudyPlots.Write(options.OutputDirectory, results, options.Seeds[0]);

        PrintSummary(options, results, noLabels);
        foreach (var r in refused) AnsiConsole.MarkupLineInterpolated($"[yellow]refused[/] {r.Row} on seed {r.Seed}: {r.Reason}");
        foreach (var scope in warnings.Records.GroupBy(w => w.Scope))
            AnsiConsole.MarkupLineInterpolated($"[yellow]warned[/] {scope.Key}: {scope.Count()} warning(s) on seed(s) {string.Join(", ", scope.Select(w => w.Seed).Distinct())} (report.md lists them)");
        AnsiConsole.MarkupLineInterpolated($"Wrote report.md, results.json{(board is null ? "" : ", TensorBoard event files (tensorboard --logdir " + board.LogDirectory + ")")} and plots to [bold]{Path.GetFullPath(options.OutputDirectory)}[/] in {clock.Elapsed.TotalMinutes:F1} min.");
        return 0;
    }

    private static void PrintSummary(StudyOptions options, List<MethodResult> results, List<NoLabelRecord> noLabels)
    {
        // the columns of report.md's Table 1 a reader compares, and the no-labels rows of its last table
        var table = new Table().Title(options.Seeds.Count > 1 ? "Test accuracy, % (mean ± std over seeds; model selected on validation worst-group)" : "Test accuracy, % (model selected on validation worst-group)")
            .AddColumns("method", "labels used", "average", "worst-group", "adjusted average", "T");
        static string Cell(MetricSummary? m, int runs) => m is null ? "n/a" : runs > 1 ? m.ToString() : (m.Mean * 100).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var method in StudyReport.MethodOrder(results))
        {
            var rs = results.Where(r => r.Method == method).ToList();
            var agg = AggregatedResult.Aggregate(rs.Select(r => r.Test).ToList());
            string t = rs[0].IdentificationEpoch is null ? "-" : string.Join("/", rs.Select(r => r.IdentificationEpoch));
            table.AddRow(Markup.Escape(method), StudyReport.Labels(rs[0].LabelsUsed), Cell(agg.AverageAccuracy, rs.Count), Cell(agg.WorstGroupAccuracy, rs.Count), Cell(agg.AdjustedAverageAccuracy, rs.Count), t);
        }
        foreach (var row in NoLabelRecord.Rows(noLabels))
        {
            var rs = row.Select(n => n.Result).ToList();
            var agg = AggregatedResult.Aggregate(rs.Select(r => r.Test).ToList());
            table.AddRow(row.First().TByValidation ? "JM1, no labels (validation average selects T and epoch)" : "JM1, no labels (validation average selects)", StudyReport.Labels(rs[0].LabelsUsed),
                Cell(agg.AverageAccuracy, rs.Count), Cell(agg.WorstGroupAccuracy, rs.Count), Cell(agg.AdjustedAverageAccuracy, rs.Count), string.Join("/", row.Select(n => n.T)));
        }
        AnsiConsole.Write(table);
    }
}
