using GroupRobust.Checkpoints;
using GroupRobust.Data;
using GroupRobust.Data.Idx;
using GroupRobust.Evaluation;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Methods;
using GroupRobust.Mixing;
using GroupRobust.Randomness;
using GroupRobust.Sampling;
using GroupRobust.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests;

/// <summary>
/// The bad inputs users actually produce, fed to every public entry point (docs/bad-input.md lists the same cases).
/// Each case must throw the named exception type with a message naming the problem, before any state changes.
/// </summary>
public class BadInputTests
{
    private static readonly GroupScheme Scheme = GroupScheme.Binary();

    public static TheoryData<string, Type, string> Cases => new()
    {
        { "evaluator: logits with the wrong number of classes", typeof(ArgumentException), "3 logit columns" },
        { "evaluator: labels and logits of different lengths", typeof(ArgumentException), "'predictions' has 3 rows but 'labels' has 2" },
        { "evaluator: float labels", typeof(ArgumentException), "integer dtype" },
        { "evaluator: label out of range", typeof(ArgumentOutOfRangeException), "label 5" },
        { "evaluator: negative group id", typeof(ArgumentOutOfRangeException), "group id -1" },
        { "evaluator: NaN logits", typeof(ArgumentException), "non-finite" },
        { "evaluator: logits on another device", typeof(ArgumentException), "meta" },
        { "evaluator: compute before any batch", typeof(InvalidOperationException), "No samples" },
        { "groupdro: group id >= G", typeof(ArgumentOutOfRangeException), "group id 4" },
        { "groupdro: infinite loss", typeof(ArgumentException), "non-finite" },
        { "groupdro: 2-D losses", typeof(ArgumentException), "1-D" },
        { "groupdro: empty batch", typeof(ArgumentException), "empty" },
        { "groupdro: negative step size", typeof(ArgumentOutOfRangeException), "step size" },
        { "groupdro: adjustment on an empty group", typeof(ArgumentException), "no training samples" },
        { "groupdro: state of another run", typeof(ArgumentException), "training group counts" },
        { "mixer: alpha above 1", typeof(ArgumentOutOfRangeException), "alpha must be in [0, 1]" },
        { "mixer: partners of another size", typeof(ArgumentException), "partnerInputs" },
        { "mixer: batch of another dataset", typeof(ArgumentException), "another dataset" },
        { "mixer: empty batch", typeof(ArgumentException), "empty" },
        { "hidden mixer: unknown layer", typeof(ArgumentException), "no submodule 'layer7'" },
        { "jtt: lambda below -1", typeof(ArgumentOutOfRangeException), "lambda" },
        { "jtt: automatic lambda with an empty error set", typeof(InvalidOperationException), "empty error set" },
        { "group assignment: loaded against another dataset", typeof(ArgumentException), "another dataset" },
        { "group assignment: corrupted file", typeof(FormatException), "expected 'index,label,group'" },
        { "identifier: model with the wrong number of classes", typeof(ArgumentException), "logits [B, 2]" },
        { "dataset: index out of range", typeof(ArgumentOutOfRangeException), "the dataset has 4 samples" },
        { "idx: truncated file", typeof(InvalidDataException), "truncated" },
        { "checkpoint: corrupted file", typeof(FormatException), "not a GroupRobust checkpoint" },
        { "schedule: Beta with a = 0", typeof(ArgumentOutOfRangeException), "Beta shape a" },
        { "groups: inferred value out of range", typeof(ArgumentOutOfRangeException), "Value at index 1 is 3; expected [0, 1]" },
        { "groups: minority group out of range", typeof(ArgumentOutOfRangeException), "Minority group 9 is out of range [0, 3]" },
        { "groups: values and labels of different lengths", typeof(ArgumentException), "'values' has 3 entries but 'labels' has 4" },
        { "groups: true groups of a dataset without group labels", typeof(InvalidOperationException), "no group labels" },
        { "groups: no groups per class", typeof(ArgumentOutOfRangeException), "At least 1 group per class" },
        { "groups: sample index out of range", typeof(ArgumentOutOfRangeException), "Index must be in [0, 3]" },
        { "mixing layer: random without candidates", typeof(ArgumentException), "at least one candidate" },
        { "mixing layer: empty name", typeof(ArgumentException), "module" },
        { "seeds: empty child name", typeof(ArgumentException), "name" },
        { "groupdro method: null groups", typeof(ArgumentNullException), "groups" },
        { "mixing method: upsampling lambda below -1", typeof(ArgumentOutOfRangeException), "UpsampleLambda" },
        { "jtt method: lambda below -1", typeof(ArgumentOutOfRangeException), "lambda" },
        { "lff: a model that is not an LffModel", typeof(ArgumentException), "LffModel(debiased, biased)" },
        { "lff: a batch holding a sample twice", typeof(ArgumentException), "holds sample 1 twice" },
        { "lff: q above 1", typeof(ArgumentOutOfRangeException), "q must be in (0, 1]" },
        { "lff: the same network twice", typeof(ArgumentException), "two separate networks" },
        { "eiil: zero steps", typeof(ArgumentOutOfRangeException), "At least one step" },
        { "eiil: model with the wrong number of classes", typeof(ArgumentException), "logits [B, 2]" },
        { "lisa: p_sel above 1", typeof(ArgumentOutOfRangeException), "p_sel must be in [0, 1]" },
        { "lisa: one domain per class", typeof(ArgumentException), "at least two domains per class" },
        { "lisa: Beta parameter 0", typeof(ArgumentOutOfRangeException), "Beta parameter" },
        { "lisa: groups of another dataset", typeof(ArgumentException), "another dataset" },
        { "dfr: validation without group labels", typeof(ArgumentException), "no group labels" },
        { "dfr: an empty C grid", typeof(ArgumentException), "C grid is empty" },
        { "l1 logistic: C = 0", typeof(ArgumentOutOfRangeException), "C must be a finite number > 0" },
        { "l1 logistic: label out of range", typeof(ArgumentOutOfRangeException), "label 2" },
        { "linear head: another shape", typeof(ArgumentException), "the model's classifier is [2, 3]" },
        { "features: a model whose final layer is not Linear", typeof(ArgumentException), "needs a Linear final layer" },
        { "afr: negative gamma", typeof(ArgumentOutOfRangeException), "gamma" },
        { "xrm: batch size 1", typeof(ArgumentOutOfRangeException), "At least 2" },
        { "regrouped view: a group of another class", typeof(ArgumentException), "belongs to class" },
        { "subset view: row out of range", typeof(ArgumentOutOfRangeException), "the dataset has 4 samples" },
        { "evaluator: float group ids", typeof(ArgumentException), "'groups' must have an integer dtype" },
        { "evaluator: negative label", typeof(ArgumentOutOfRangeException), "label -1" },
        { "evaluator: infinite logits", typeof(ArgumentException), "non-finite" },
        { "evaluator: group ids inconsistent with labels", typeof(ArgumentException), "at row 1: group 0 belongs to class 0 but the label is 1" },
        { "evaluator: group ids after batches without them", typeof(ArgumentException), "earlier batches had none" },
        { "evaluator: no group ids after batches with them", typeof(ArgumentException), "earlier batches had group ids" },
        { "evaluator: training group counts of the wrong length", typeof(ArgumentException), "trainGroupCounts" },
        { "evaluator: a negative training group count", typeof(ArgumentException), "trainGroupCounts" },
        { "evaluator: Evaluate with groups of another dataset", typeof(ArgumentException), "another dataset" },
        { "groupdro: infinite step size", typeof(ArgumentOutOfRangeException), "step size must be a finite number" },
        { "groupdro: gamma 0", typeof(ArgumentOutOfRangeException), "Gamma" },
        { "groupdro: btl alpha 1", typeof(ArgumentOutOfRangeException), "BtlAlpha" },
        { "groupdro: negative group id", typeof(ArgumentOutOfRangeException), "group id -1" },
        { "groupdro: integer losses", typeof(ArgumentException), "floating" },
        { "groupdro: losses and group ids of different lengths", typeof(ArgumentException), "'groups' has 2 rows but 'perSampleLosses' has 3" },
        { "groupdro: state of another group count", typeof(ArgumentException), "training group counts [10, 10]" },
        { "groupdro: a saved state with NaN", typeof(ArgumentException), "non-finite" },
        { "mixer: partners of another dtype", typeof(ArgumentException), "dtype Float64" },
        { "mixer: partners on another device", typeof(ArgumentException), "meta" },
        { "mixer: in-batch partner rows out of range", typeof(ArgumentOutOfRangeException), "Partner row 0 is 9" },
        { "hidden mixer: a layer after the mixing point changes the batch size", typeof(InvalidOperationException), "returned 4 rows after mixing at 'lin', expected 2" },
        { "input mixer: a layer changes the batch size", typeof(InvalidOperationException), "returned 4 rows after mixing at 'input', expected 2" },
        { "group assignment: bad column header", typeof(FormatException), "line 3 must be the header" },
        { "group assignment: extra rows", typeof(FormatException), "follows the 4 rows the metadata announces" },
        { "group assignment: truncated file", typeof(FormatException), "p.csv" },
        { "oracle: explicit minority groups without group labels", typeof(InvalidOperationException), "needs group labels" },
        { "dataset: empty index list", typeof(ArgumentException), "index" },
        { "dataset: no samples", typeof(ArgumentException), "no samples" },
        { "dataset: a label beyond 32 bits", typeof(ArgumentOutOfRangeException), "outside the 32-bit range" },
        { "idx: not gzip", typeof(InvalidDataException), "a.idx.gz" },
        { "checkpoint: a state section that is not JSON", typeof(FormatException), "the state section is not valid JSON" },
        { "schedule: uniform bound above 1", typeof(ArgumentOutOfRangeException), "hi" },
        { "backend: a 32-bit process", typeof(TorchBackendUnavailableException), "64-bit" },
        { "method: a state with an invalid generator", typeof(ArgumentException), "Generator 'partners' of the method state is invalid" },
        { "eiil: infinite learning rate", typeof(ArgumentOutOfRangeException), "LearningRate" },
        { "eiil: non-finite logits", typeof(ArgumentException), "non-finite" },
        { "dfr: features of another class count", typeof(ArgumentException), "2 and 3 classes" },
        { "dfr: a validation set too small to halve", typeof(ArgumentException), "too small to split in halves" },
        { "afr: infinite lambda", typeof(ArgumentOutOfRangeException), "Lambda" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_gives_a_clear_exception(string name, Type expected, string fragment)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        var ex = Assert.Throws(expected, () => Act(name, dir));
        Assert.Contains(fragment, ex.Message);
    }

    private static void Act(string name, TempDirectory dir)
    {
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        using var evaluator = new WorstGroupEvaluator(Scheme);
        using var dro = new GroupDroLoss([10, 10, 10, 10]);
        var partition = GroupAssignment.FromErrorIndices([1], ds, "test");
        var mixer = new ClassConditionalMixer(partition, new Random(0));
        switch (name)
        {
            case "evaluator: logits with the wrong number of classes": evaluator.Add(torch.zeros(2, 3), Tiny.Longs(0, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: labels and logits of different lengths": evaluator.Add(torch.zeros(3, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: float labels": evaluator.Add(torch.zeros(2, 2), torch.zeros(2), Tiny.Longs(0, 2)); break;
            case "evaluator: label out of range": evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 5), Tiny.Longs(0, 2)); break;
            case "evaluator: negative group id": evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(-1, 2)); break;
            case "evaluator: NaN logits": evaluator.Add(torch.full(2, 2, float.NaN), Tiny.Longs(0, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: logits on another device": evaluator.Add(torch.zeros(2, 2, device: META), Tiny.Longs(0, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: compute before any batch": evaluator.Compute(); break;
            case "groupdro: group id >= G": dro.Forward(torch.ones(2), Tiny.Longs(0, 4)); break;
            case "groupdro: infinite loss": dro.Forward(torch.tensor(new[] { 1f, float.PositiveInfinity }), Tiny.Longs(0, 1)); break;
            case "groupdro: 2-D losses": dro.Forward(torch.ones(2, 1), Tiny.Longs(0, 1)); break;
            case "groupdro: empty batch": dro.Forward(torch.ones(0), torch.zeros(0, ScalarType.Int64)); break;
            case "groupdro: negative step size": _ = new GroupDroLoss([1, 1], new GroupDroOptions { StepSize = -1 }); break;
            case "groupdro: adjustment on an empty group": _ = new GroupDroLoss([1, 0], new GroupDroOptions { GeneralizationAdjustment = 2 }); break;
            case "groupdro: state of another run":
                using (var other = new GroupDroLoss([5, 5, 5, 5])) CopyState(other, dro);
                break;
            case "mixer: alpha above 1":
            {
                using var b = ds.GetBatch([0, 1]);
                mixer.Mix(b.Inputs, b.Inputs, mixer.DrawPartners(b), 1.5);
                break;
            }
            case "mixer: partners of another size":
            {
                using var b = ds.GetBatch([0, 1]);
                mixer.Mix(b.Inputs, b.Inputs[..1], mixer.DrawPartners(b), 0.5);
                break;
            }
            case "mixer: batch of another dataset":
            {
                using var other = Tiny.Dataset([1, 1, 1, 1], null);
                using var b = other.GetBatch([0]);
                mixer.DrawPartners(b);
                break;
            }
            case "mixer: empty batch": mixer.DrawPartners(ReadOnlySpan<long>.Empty); break;
            case "hidden mixer: unknown layer": _ = new MixedForwardPass(nn.Sequential(nn.Linear(3, 2)), ["layer7"], new Random(0)); break;
            case "jtt: lambda below -1": _ = new JttReweighter(partition, -3, 0); break;
            case "jtt: automatic lambda with an empty error set": _ = new JttReweighter(GroupAssignment.FromErrorIndices([], ds, "none"), -1, 0); break;
            case "group assignment: loaded against another dataset":
            {
                partition.Save(dir.File("p.csv"));
                using var other = Tiny.Dataset([1, 1, 0, 0], null);
                GroupAssignment.Load(dir.File("p.csv"), other);
                break;
            }
            case "group assignment: corrupted file":
                partition.Save(dir.File("p.csv"));
                File.WriteAllLines(dir.File("p.csv"), File.ReadAllLines(dir.File("p.csv")).Select((l, i) => i == 4 ? "1;1;1" : l));
                GroupAssignment.Load(dir.File("p.csv"), ds);
                break;
            case "identifier: model with the wrong number of classes": new MisclassificationIdentifier(nn.Linear(3, 5)).Identify(ds); break;
            case "dataset: index out of range": ds.GetBatch([0, 4]); break;
            case "idx: truncated file":
                IdxFile.Write(dir.File("a.idx"), new IdxArray([2, 2], new byte[4]));
                File.WriteAllBytes(dir.File("a.idx"), File.ReadAllBytes(dir.File("a.idx"))[..^1]);
                IdxFile.Read(dir.File("a.idx"));
                break;
            case "checkpoint: corrupted file":
                File.WriteAllText(dir.File("c.bin"), "garbage");
                TrainingCheckpoint.Load(dir.File("c.bin"), nn.Linear(3, 2), null);
                break;
            case "groups: inferred value out of range": GroupAssignment.FromInferred([0, 3, 1, 0], [0, 1, 0, 1], 2, 2, [1], "test"); break;
            case "groups: minority group out of range": GroupAssignment.FromInferred([0, 1, 1, 0], [0, 1, 0, 1], 2, 2, [9], "test"); break;
            case "groups: values and labels of different lengths": GroupAssignment.FromInferred([0, 1, 1], [0, 1, 0, 1], 2, 2, [1], "test"); break;
            case "groups: true groups of a dataset without group labels":
            {
                using var unlabeled = Tiny.Dataset([0, 1], null);
                GroupAssignment.FromTrueGroups(unlabeled);
                break;
            }
            case "groups: no groups per class": GroupAssignment.FromInferred([0, 0], [0, 1], 2, 0, [], "test"); break;
            case "groups: sample index out of range": GroupAssignment.FromTrueGroups(ds).GroupOf(4); break;
            case "mixing layer: random without candidates": MixingLayer.Random([]); break;
            case "mixing layer: empty name": MixingLayer.Named(""); break;
            case "seeds: empty child name": new SeedSource(1).Child(""); break;
            case "groupdro method: null groups": _ = new GroupDroMethod(null!, new SeedSource(0)); break;
            case "mixing method: upsampling lambda below -1": Jm1Method.Jm1Plus(ds, GroupAssignment.FromTrueGroups(ds), -2, new SeedSource(0)); break;
            case "jtt method: lambda below -1": _ = new JttMethod(GroupAssignment.FromTrueGroups(ds), -4, new SeedSource(0)); break;
            case "schedule: Beta with a = 0": AlphaSchedule.Beta(0, 5); break;
            case "lff: a model that is not an LffModel":
            case "lff: a batch holding a sample twice":
            {
                using var lff = new LffMethod(ds, new SeedSource(0));
                using var pair = new LffModel(nn.Linear(3, 2), nn.Linear(3, 2));
                lff.BeginEpoch(1, 1);
                using var b = ds.GetBatch(name.Contains("twice") ? [1, 1] : [0, 1]);
                if (name.Contains("twice")) lff.Loss(pair, b);
                else
                {
                    using var plain = nn.Linear(3, 2);
                    lff.Loss(plain, b);
                }
                break;
            }
            case "lff: q above 1": _ = new LffMethod(ds, new SeedSource(0), new LffOptions { Q = 1.5 }); break;
            case "lff: the same network twice":
            {
                var net = nn.Linear(3, 2);
                _ = new LffModel(net, net);
                break;
            }
            case "eiil: zero steps": _ = new EiilIdentifier(nn.Linear(3, 2), new SeedSource(0), new EiilOptions { Steps = 0 }); break;
            case "eiil: model with the wrong number of classes": new EiilIdentifier(nn.Linear(3, 5), new SeedSource(0)).Identify(ds); break;
            case "lisa: p_sel above 1": _ = new LisaMethod(ds, GroupAssignment.FromTrueGroups(ds), new SeedSource(0), new LisaOptions { SelectionProbability = 1.5 }); break;
            case "lisa: one domain per class": _ = new LisaMethod(ds, GroupAssignment.FromInferred([0, 0, 0, 0], [0, 1, 0, 1], 2, 1, [], "one"), new SeedSource(0)); break;
            case "lisa: Beta parameter 0": _ = new LisaMethod(ds, GroupAssignment.FromTrueGroups(ds), new SeedSource(0), new LisaOptions { MixAlpha = 0 }); break;
            case "dfr: validation without group labels":
            case "dfr: an empty C grid":
            {
                using var features = new TensorGroupDataset(torch.randn(4, 3), Tiny.Longs(0, 1, 0, 1), Scheme, name.Contains("empty") ? Tiny.Longs(0, 1, 1, 0) : null);
                using var train = new TensorGroupDataset(torch.randn(4, 3), Tiny.Longs(0, 1, 0, 1), Scheme);
                GroupRobust.Methods.Dfr.OnValidation(train, features, new SeedSource(0), name.Contains("empty") ? new GroupRobust.Methods.DfrOptions { CGrid = [] } : null);
                break;
            }
            case "l1 logistic: C = 0": GroupRobust.Methods.L1LogisticRegression.Fit(torch.randn(4, 3), Tiny.Longs(0, 1, 0, 1), 2, 0); break;
            case "l1 logistic: label out of range": GroupRobust.Methods.L1LogisticRegression.Fit(torch.randn(4, 3), Tiny.Longs(0, 1, 2, 1), 2, 1); break;
            case "linear head: another shape":
            {
                using var small = nn.Linear(3, 2);
                using var big = nn.Linear(5, 2);
                GroupRobust.Models.LinearHead.Read(big).Load(small);
                break;
            }
            case "features: a model whose final layer is not Linear":
            {
                using var conv = nn.Sequential(("flat", nn.Flatten()), ("norm", nn.LayerNorm(3)));
                GroupRobust.Models.FeatureExtractor.Extract(conv, ds);
                break;
            }
            case "afr: negative gamma": new GroupRobust.Methods.AfrOptions { Gamma = -1 }.Validate(); break;
            case "xrm: batch size 1": _ = new XrmIdentifier(() => nn.Linear(3, 2), p => torch.optim.SGD(p, 0.1), new SeedSource(0), new XrmOptions { BatchSize = 1 }); break;
            case "regrouped view: a group of another class": _ = new RegroupedView(ds, Scheme, [0, 0, 0, 0], inferred: true); break;
            case "subset view: row out of range": _ = new SubsetView(ds, [0, 4]); break;
            case "lisa: groups of another dataset":
            {
                using var other = Tiny.Dataset([1, 1, 0, 0], [0, 1, 0, 1]);
                _ = new LisaMethod(ds, GroupAssignment.FromTrueGroups(other), new SeedSource(0));
                break;
            }
            case "evaluator: float group ids": evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), torch.zeros(2)); break;
            case "evaluator: negative label": evaluator.Add(torch.zeros(2, 2), Tiny.Longs(-1, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: infinite logits": evaluator.Add(torch.tensor(new[] { 0f, float.PositiveInfinity, 0f, 0f }, [2, 2]), Tiny.Longs(0, 1), Tiny.Longs(0, 2)); break;
            case "evaluator: group ids inconsistent with labels": evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 0)); break;
            case "evaluator: group ids after batches without them":
                evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), null);
                evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2));
                break;
            case "evaluator: no group ids after batches with them":
                evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2));
                evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), null);
                break;
            case "evaluator: training group counts of the wrong length":
            case "evaluator: a negative training group count":
                evaluator.Add(torch.zeros(2, 2), Tiny.Longs(0, 1), Tiny.Longs(0, 2));
                evaluator.Compute(name.Contains("negative") ? [1, -1, 1, 1] : [1, 2]);
                break;
            case "evaluator: Evaluate with groups of another dataset":
            {
                using var other = Tiny.Dataset([1, 1, 0, 0], [0, 1, 0, 1]);
                using var model = nn.Linear(3, 2);
                evaluator.Evaluate(model, ds, GroupAssignment.FromTrueGroups(other));
                break;
            }
            case "groupdro: infinite step size": _ = new GroupDroLoss([1, 1], new GroupDroOptions { StepSize = double.PositiveInfinity }); break;
            case "groupdro: gamma 0": _ = new GroupDroLoss([1, 1], new GroupDroOptions { Gamma = 0 }); break;
            case "groupdro: btl alpha 1": _ = new GroupDroLoss([1, 1], new GroupDroOptions { Btl = true, BtlAlpha = 1 }); break;
            case "groupdro: negative group id": dro.Forward(torch.ones(2), Tiny.Longs(0, -1)); break;
            case "groupdro: integer losses": dro.Forward(Tiny.Longs(1, 2), Tiny.Longs(0, 1)); break;
            case "groupdro: losses and group ids of different lengths": dro.Forward(torch.ones(3), Tiny.Longs(0, 1)); break;
            case "groupdro: state of another group count":
                using (var other = new GroupDroLoss([10, 10])) CopyState(other, dro);
                break;
            case "groupdro: a saved state with NaN":
            {
                var values = new Dictionary<string, double[]>();
                dro.WriteState(values, "groupdro/");
                values["groupdro/exp_avg_loss"] = [double.NaN, 0, 0, 0];
                dro.ReadState(values, "groupdro/")();
                break;
            }
            case "mixer: partners of another dtype":
            case "mixer: partners on another device":
            {
                using var b = ds.GetBatch([0, 1]);
                var partners = name.Contains("dtype") ? b.Inputs.to(ScalarType.Float64) : torch.zeros(b.Inputs.shape, device: META);
                mixer.Mix(b.Inputs, partners, mixer.DrawPartners(b), 0.5);
                break;
            }
            case "mixer: in-batch partner rows out of range":
            {
                using var model = nn.Sequential(("lin", nn.Linear(3, 2)));
                new MixedForwardPass(model, ["lin"], new Random(0)).Run(torch.zeros(2, 3), null, [9, 0], torch.ones(2));
                break;
            }
            case "hidden mixer: a layer after the mixing point changes the batch size":
            case "input mixer: a layer changes the batch size":
            {
                // Flatten(0, 1) merges the batch and class dimensions: [2, 2] -> [4]
                using var model = nn.Sequential(("lin", nn.Linear(3, 2)), ("merge", nn.Flatten(0, 1)));
                var layer = name.StartsWith("hidden", StringComparison.Ordinal) ? "lin" : MixedForwardPass.InputLayer;
                new MixedForwardPass(model, [layer], new Random(0)).Run(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2));
                break;
            }
            case "group assignment: bad column header":
            case "group assignment: extra rows":
            case "group assignment: truncated file":
            {
                partition.Save(dir.File("p.csv"));
                var lines = File.ReadAllLines(dir.File("p.csv")).ToList();
                if (name.Contains("header")) lines[2] = "index;label;group";
                else if (name.Contains("extra")) lines.Add("4,0,0");
                else lines.RemoveAt(lines.Count - 1);
                File.WriteAllLines(dir.File("p.csv"), lines);
                GroupAssignment.Load(dir.File("p.csv"), ds);
                break;
            }
            case "oracle: explicit minority groups without group labels":
            {
                using var unlabeled = Tiny.Dataset([0, 1], null);
                new OracleIdentifier([1]).Identify(unlabeled);
                break;
            }
            case "dataset: empty index list": ds.GetBatch([]); break;
            case "dataset: no samples": _ = new TensorGroupDataset(torch.zeros(0, 3), torch.zeros(0, ScalarType.Int64), Scheme); break;
            case "dataset: a label beyond 32 bits": _ = new TensorGroupDataset(torch.zeros(2, 3), Tiny.Longs(0, 1L << 32), Scheme); break;
            case "idx: not gzip":
                File.WriteAllBytes(dir.File("a.idx.gz"), [0x1f, 0x8b, 8, 0, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa]);   // gzip's magic, then garbage
                IdxFile.Read(dir.File("a.idx.gz"));
                break;
            case "checkpoint: a state section that is not JSON":
            {
                using var model = nn.Linear(3, 2);
                TrainingCheckpoint.Save(dir.File("c.bin"), model, null, new CheckpointState { Epoch = 1 });
                CheckpointSurgery.ReplaceStateSection(dir.File("c.bin"), "{ not json"u8.ToArray());
                TrainingCheckpoint.Load(dir.File("c.bin"), model, null);
                break;
            }
            case "schedule: uniform bound above 1": AlphaSchedule.Uniform(0, 1.5); break;
            case "backend: a 32-bit process": throw TorchBackend.CheckProcess(is64Bit: false)!;
            case "method: a state with an invalid generator":
            {
                using var method = Jm1Method.Jm1(ds, partition, new SeedSource(0));
                var state = method.GetState();
                method.SetState(state with { Generators = new Dictionary<string, ulong[]> { ["partners"] = [1UL] } });
                break;
            }
            case "eiil: infinite learning rate": _ = new EiilIdentifier(nn.Linear(3, 2), new SeedSource(0), new EiilOptions { LearningRate = double.PositiveInfinity }); break;
            case "eiil: non-finite logits":
            {
                using var model = nn.Linear(3, 2);
                using (torch.no_grad()) model.weight!.fill_(float.NaN);
                new EiilIdentifier(model, new SeedSource(0), new EiilOptions { Steps = 1 }).Identify(ds);
                break;
            }
            case "dfr: features of another class count":
            case "dfr: a validation set too small to halve":
            {
                var three = new GroupRobust.Groups.GroupScheme(3, 2);
                bool classes = name.Contains("class");
                using var train = new TensorGroupDataset(torch.randn(4, 3), Tiny.Longs(0, 1, 0, 1), Scheme, Tiny.Longs(0, 1, 1, 0));
                using var validation = classes
                    ? new TensorGroupDataset(torch.randn(4, 3), Tiny.Longs(0, 1, 2, 1), three, Tiny.Longs(0, 1, 1, 0))
                    : new TensorGroupDataset(torch.randn(1, 3), Tiny.Longs(0), Scheme, Tiny.Longs(0));
                GroupRobust.Methods.Dfr.OnValidation(train, validation, new SeedSource(0));
                break;
            }
            case "afr: infinite lambda": new GroupRobust.Methods.AfrOptions { Lambda = double.PositiveInfinity }.Validate(); break;
            default: throw new InvalidOperationException($"No action for case '{name}'.");
        }
    }

    [Fact]
    public void Degenerate_partitions_are_logged_not_silent()
    {
        // an error set covering a whole class: that class has no partner on the other side
        using var ds = Tiny.Dataset([0, 1, 0, 1], [0, 1, 1, 0]);
        var logger = new Identification.ListLogger();
        var mixer = new ClassConditionalMixer(GroupAssignment.FromErrorIndices([0, 2], ds, "test"), new Random(0), logger: logger);
        Assert.Contains(logger.Messages, m => m.Contains("Class 1 has all of its 2 samples on one side"));
        mixer.DrawPartners([1, 3]);
        Assert.Equal(2, mixer.EndEpoch().Unmixed);
        Assert.Contains(logger.Messages, m => m.Contains("2 of 2 samples had no partner"));
        // an empty error set: identification logs it
        var idLogger = new Identification.ListLogger();
        var p = new OracleIdentifier([], idLogger).Identify(ds);
        Assert.Equal(0, p.MinorityCount);
        Assert.Contains(idLogger.Messages, m => m.Contains("The error set is empty"));
    }

    /// <summary>A GroupDRO state carried from one loss to another through its one state route.</summary>
    private static void CopyState(GroupDroLoss from, GroupDroLoss to)
    {
        var values = new Dictionary<string, double[]>();
        from.WriteState(values, "groupdro/");
        to.ReadState(values, "groupdro/")();
    }
}
