using GroupRobust.Mixing;

namespace GroupRobust.Study;

/// <summary>Everything the study can be told on the command line.</summary>
public sealed record StudyOptions
{
    /// <summary>The rows, as specs of catalog keys (<see cref="StudyRow"/>); the default study's when not given.</summary>
    public IReadOnlyList<string> Methods { get; init; } = StudyRow.Defaults;
    public int Epochs { get; init; } = 8;

    /// <summary>Identifiers (catalog keys) whose groups are reported in the error-set quality table even when no row trains on them; a phase-I one at every candidate T.</summary>
    public IReadOnlyList<string> Identifiers { get; init; } = [];
    public int Phase1Epochs { get; init; } = 3;

    /// <summary>The <c>--set KEY.Option=VALUE</c> specs (<see cref="OptionOverrides"/>), checked by <see cref="Validate"/>.</summary>
    public IReadOnlyList<string> Set { get; init; } = [];

    /// <summary>The parsed <see cref="Set"/>.</summary>
    public OptionOverrides Overrides => Set.Count == 0 ? OptionOverrides.None : OptionOverrides.Parse(Set);
    public static readonly string[] IdentificationRules = ["error-set-f1", "worst-group", "average", "joint", "oracle-f1"];
    public static readonly string[] SelectionRules = ["worst-group", "average", "worst-class", "worst-attribute", "class-balanced", "mean-precision", "worst-class-precision", "mean-f1", "worst-class-f1", "auroc", "class-difference"];

    public string IdentificationRule { get; init; } = "error-set-f1";
    public string Selection { get; init; } = "worst-group";
    public bool NoLabelsSection { get; init; } = true;
    public bool OneStandardErrorRule { get; init; } = true;
    public IReadOnlyList<int> Seeds { get; init; } = [0];
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public string MixingLayer { get; init; } = "input";
    public PartnerSource? Partners { get; init; }
    public bool DetachPartners { get; init; }
    public string AlphaSchedule { get; init; } = "uniform";
    public AlphaOrientation Orientation { get; init; } = AlphaOrientation.MajorityWeight;
    public int JttLambda { get; init; } = 20;
    public int TrainSize { get; init; } = 10_000;
    public double Correlation { get; init; } = 0.95;

    /// <summary>
    /// The correlation a dataset is studied at unless told: 0.98 for the Gaussian task (the JM1 paper's 2% minority per
    /// class), 0.90 for the multi-attribute benchmark (its minority groups: 7% and 3% of each label), else 0.95.
    /// </summary>
    public static double DefaultCorrelation(string dataset) => dataset switch { "gaussian" => 0.98, "multi-attribute-fashion-mnist" => 0.90, _ => 0.95 };

    /// <summary>
    /// Background colours of the multi-attribute benchmark (default 3: each label 90% on its own colour, the rest split
    /// 70 / 30 over the two others; 2: each label on its own colour, the rest on the other one, the K = 3, A = 2 shape of
    /// MultiNLI's six groups). Only 2 or 3, and only for that dataset; null when not given (3).
    /// </summary>
    public int? Colours { get; init; }

    /// <summary>The multi-attribute benchmark's colours in effect: <see cref="Colours"/>, or 3.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int ColoursInEffect => Colours ?? 3;

    /// <summary>The Gaussian task's input dimension (default 10: the two signal coordinates in ten, as the JM1 paper's Appendix C).</summary>
    public int Dimensions { get; init; } = 10;
    public IReadOnlyList<int>? Label0Classes { get; init; }
    public IReadOnlyList<int>? Label1Classes { get; init; }
    public string DataDirectory { get; init; } = GroupRobust.Data.FashionMnist.FashionMnistFiles.DefaultDirectory;
    /// <summary>The dataset (see <see cref="Data.StudyDatasets.Names"/>); the ones on disk take <see cref="DatasetPath"/>.</summary>
    public string Dataset { get; init; } = "spurious-fashion-mnist";
    public string? DatasetPath { get; init; }
    /// <summary>The backbone (see <see cref="Models.StudyModels.Names"/>) and, for the ResNets, torchvision weights to start from.</summary>
    public string Backbone { get; init; } = "small-cnn";
    public string? Weights { get; init; }
    /// <summary>Train-time augmentation of image datasets (the references' --augment_data: random resized crop and flip).</summary>
    public bool Augment { get; init; }
    public string OutputDirectory { get; init; } = "artifacts/study";

    /// <summary>Write TensorBoard event files of every run into OutputDirectory/tensorboard (default true).</summary>
    public bool TensorBoard { get; init; } = true;
    public string Device { get; init; } = "cpu";
    public bool Quiet { get; init; }

    public void Validate()
    {
        _ = Overrides;   // a spec that names no option, or a value of another type, fails here with its message
        var rows = Methods.Select(StudyRow.Parse).ToList();
        if (rows.Any(r => r.UsesPhaseOne) && !rows.Any(r => r.Spec == "erm"))
            throw new ArgumentException("JTT, JM1 (identified error set), EIIL (reference model) and DFR (the ERM backbone) need the 'erm' run; add erm to --methods.");
        foreach (var key in Identifiers) Catalog.MethodCatalog.Identifier(key);   // an unknown key: the message lists the known ones
        if (Identifiers.Any(k => Catalog.MethodCatalog.Identifier(k).Input == Catalog.IdentifierInput.PhaseOneModel) && !rows.Any(r => r.Spec == "erm"))
            throw new ArgumentException("--identifiers: an identifier that reads the phase-I model needs the 'erm' run; add erm to --methods.");
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch.");
        if (Phase1Epochs < 1 || Phase1Epochs > Epochs) throw new ArgumentOutOfRangeException(nameof(Phase1Epochs), Phase1Epochs, $"Must be in [1, {Epochs}].");
        if (Seeds.Count == 0) throw new ArgumentException("At least one seed.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least 2.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be > 0.");
        if (!IdentificationRules.Contains(IdentificationRule)) throw new ArgumentException($"Unknown identification rule '{IdentificationRule}'; use {string.Join(", ", IdentificationRules)}.");
        if (!SelectionRules.Contains(Selection)) throw new ArgumentException($"Unknown selection rule '{Selection}'; use {string.Join(", ", SelectionRules)}.");
        if (AlphaSchedule is not ("ub" or "uniform" or "beta")) throw new ArgumentException($"Unknown alpha schedule '{AlphaSchedule}'; use ub, uniform or beta.");
        if (Colours is not (null or 2 or 3)) throw new ArgumentOutOfRangeException(nameof(Colours), Colours, "--colours: the multi-attribute benchmark has 2 or 3 background colours.");
        if (Colours is not null && Dataset != "multi-attribute-fashion-mnist") throw new ArgumentException($"--colours applies to --dataset multi-attribute-fashion-mnist, not to {Dataset}.");
        if (Dimensions < 2) throw new ArgumentOutOfRangeException(nameof(Dimensions), Dimensions, "At least 2 (the core and the spurious coordinate).");
        if (JttLambda < 0) throw new ArgumentOutOfRangeException(nameof(JttLambda), JttLambda, "Must be >= 0.");
        if (!Data.StudyDatasets.Names.Contains(Dataset)) throw new ArgumentException($"Unknown dataset '{Dataset}'; use {string.Join(", ", Data.StudyDatasets.Names)}.");
        if (Data.StudyDatasets.NeedsPath(Dataset) && string.IsNullOrEmpty(DatasetPath))
            throw new ArgumentException($"--dataset {Dataset} needs the data's location: --dataset {Dataset} {(Dataset == "csv" ? "FILE.csv" : "DIR")} (docs/datasets.md has the layouts).");
        if (DatasetPath is not null && !Data.StudyDatasets.NeedsPath(Dataset))
            throw new ArgumentException($"--dataset {Dataset} is generated and takes no path (got '{DatasetPath}').");
        if (!Models.StudyModels.Names.Contains(Backbone)) throw new ArgumentException($"Unknown backbone '{Backbone}'; use {string.Join(", ", Models.StudyModels.Names)}.");
        if (Weights is not null && Backbone is not ("resnet18" or "resnet50")) throw new ArgumentException("--weights loads torchvision weights into --backbone resnet18 or resnet50 (resnet18-imagenet and minilm bring their own).");
        if (Backbone == "resnet18-imagenet" && Dataset is not ("waterbirds" or "celeba" or "csv"))
            throw new ArgumentException($"--backbone resnet18-imagenet reads 224 x 224 photographs: use it with waterbirds, celeba or csv, not {Dataset}.");
        if (Weights is not null && !File.Exists(Weights)) throw new ArgumentException($"--weights: no such file '{Weights}'.");
        if (Dataset == "multinli" && Backbone is not ("bag-of-words" or "mlp"))
            throw new ArgumentException("--dataset multinli trains on token ids or embeddings: use --backbone bag-of-words (token ids) or mlp (embeddings), with --mixing-layer hidden.");
        if (Data.StudyDatasets.IsText(Dataset) != (Backbone == "minilm"))
            throw new ArgumentException(Backbone == "minilm" ? $"--backbone minilm reads text; --dataset {Dataset} is not a text dataset (use fortunes)." : $"--dataset {Dataset} is text: use --backbone minilm.");
        if (Backbone == "minilm")
        {
            // token ids cannot be interpolated: every mix happens at the token embeddings, a transformer layer or the output
            var inputMixing = Methods.Where(m => StudyRow.Parse(m) is { Method: not null } row && row.Method.Key is "mixup" or "lisa" or "groupjm1" or "groupjm1-dro").ToArray();
            if (inputMixing.Length > 0)
                throw new ArgumentException($"--backbone minilm trains on token ids, which {string.Join(", ", inputMixing)} would interpolate at the input; leave them out of --methods.");
            if (MixingLayer == "input" && Methods.Any(m => StudyRow.Parse(m) is { Method: not null } row && row.Method.Key is "jm1" or "jm1-plus" or "jm1-unconditional" or "cmixup" && row.Layer is null or "input"))
                throw new ArgumentException("--backbone minilm trains on token ids: mix at the output (--mixing-layer output), the token embeddings (encoder.embeddings) or a transformer layer (encoder.encoder.layer.N), or give the row a layer (jm1:output).");
            // the no-labels section trains JM1 at --mixing-layer after every row (when ERM and JM1 rows run): refuse now, not after the last row
            if (MixingLayer == "input" && NoLabelsSection && Methods.Contains("erm") && Methods.Any(m => StudyRow.Parse(m).Method?.Key == "jm1"))
                throw new ArgumentException("--backbone minilm trains on token ids, and the no-labels section mixes at --mixing-layer (input by default): pass --mixing-layer output (or encoder.embeddings), or --no-labels-section false.");
        }
        if (Dataset == "gaussian" && Backbone != "mlp") throw new ArgumentException("--dataset gaussian is a feature vector task: use --backbone mlp.");
        if (Dataset == "multinli" && Backbone == "bag-of-words")
        {
            // token ids cannot be interpolated: every mix must happen at a hidden layer
            var inputMixing = Methods.Where(m => StudyRow.Parse(m).Method?.Key is "mixup" or "lisa" or "cmixup").ToArray();
            if (inputMixing.Length > 0)
                throw new ArgumentException($"--dataset multinli with --backbone bag-of-words trains on token ids, which {string.Join(", ", inputMixing)} would interpolate at the input; leave them out of --methods.");
            if (Methods.Any(m => StudyRow.Parse(m).Method?.Key is "jm1" or "jm1-plus" or "jm1-unconditional") && MixingLayer == "input")
                throw new ArgumentException("--dataset multinli with --backbone bag-of-words trains on token ids: mix at a hidden layer (--mixing-layer hidden or features).");
        }
        if (Augment && Dataset is not ("waterbirds" or "celeba" or "csv"))
            throw new ArgumentException($"--augment applies to the image datasets on disk (waterbirds, celeba, csv), not to {Dataset}.");
    }

    /// <summary>The selection rule of phase II.</summary>
    public GroupRobust.Evaluation.SelectionRule SelectionRule() => Selection switch
    {
        "average" => GroupRobust.Evaluation.SelectionRule.AverageAccuracy,
        "worst-class" => GroupRobust.Evaluation.SelectionRule.WorstClassAccuracy,
        "worst-attribute" => GroupRobust.Evaluation.SelectionRule.WorstAttributeAccuracy,
        "class-balanced" => GroupRobust.Evaluation.SelectionRule.ClassBalancedAccuracy,
        "mean-precision" => GroupRobust.Evaluation.SelectionRule.MacroPrecision,
        "worst-class-precision" => GroupRobust.Evaluation.SelectionRule.WorstClassPrecision,
        "mean-f1" => GroupRobust.Evaluation.SelectionRule.MacroF1,
        "worst-class-f1" => GroupRobust.Evaluation.SelectionRule.WorstClassF1,
        "auroc" => GroupRobust.Evaluation.SelectionRule.Auroc,
        "class-difference" => GroupRobust.Evaluation.SelectionRule.ClassDifference,
        _ => GroupRobust.Evaluation.SelectionRule.WorstGroupAccuracy,
    };

    public Mixing.AlphaSchedule Schedule() => AlphaSchedule switch
    {
        "uniform" => Mixing.AlphaSchedule.Uniform(),
        "beta" => Mixing.AlphaSchedule.Beta(2, 5),
        _ => Mixing.AlphaSchedule.UniformThenBeta(),
    };

    /// <summary>The recipes' options of one seed: epochs, batch sizes, the selection rule and the rule that chooses T, the epoch reports' receiver.</summary>
    public GroupRobust.Recipes.RecipeOptions Recipe(GroupRobust.Data.DatasetSplits data, int seed, Action<string, GroupRobust.Training.EpochReport> onEpoch) => new()
    {
        Epochs = Epochs, Phase1Epochs = Phase1Epochs, BatchSize = BatchSize, EvaluationBatchSize = 500, Selection = SelectionRule(),
        IdentificationRule = IdentificationRule switch
        {
            "worst-group" => GroupRobust.Evaluation.SelectionRule.WorstGroupAccuracy,
            "average" => GroupRobust.Evaluation.SelectionRule.AverageAccuracy,
            // ORACLE: the minority groups from the training split's counts
            "oracle-f1" => GroupRobust.Evaluation.SelectionRule.ValidationErrorSet(GroupRobust.Identification.OracleIdentifier.MinorityGroupsOf(data.Train), Groups.LabelBudget.TrainingGroups),
            _ => GroupRobust.Evaluation.SelectionRule.ValidationErrorSet(),
        },
        Evaluator = new GroupRobust.Evaluation.EvaluatorOptions { BootstrapSeed = seed }, OracleReference = data.Test,
        OnEpoch = onEpoch, OneStandardErrorRule = OneStandardErrorRule,
        // images decoded from disk: the next batch decodes while the current one trains (the same batches either way)
        PrefetchBatches = data.Train is GroupRobust.Data.Images.ImageFileDataset,
    };

    /// <summary>JM1's options from the command line (layer, orientation, schedule, partners, detaching); c-MixUp keeps its uniform alpha.</summary>
    public Methods.Jm1Options MixingOptions(Catalog.MethodEntry entry, string? layer)
    {
        var defaults = (Methods.Jm1Options)entry.Defaults;
        layer ??= MixingLayer;
        return defaults with
        {
            Layer = layer == "random" ? Mixing.MixingLayer.Random(Models.StudyModels.RandomLayers(Backbone)) : Mixing.MixingLayer.Parse(layer),
            Orientation = Orientation, Partners = Partners, DetachPartners = DetachPartners,
            Schedule = entry == Catalog.MethodCatalog.ClassConditionalMixup ? defaults.Schedule : Schedule(),
        };
    }
}
