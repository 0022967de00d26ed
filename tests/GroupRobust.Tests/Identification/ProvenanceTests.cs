using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Identification;
using GroupRobust.Evaluation;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using GroupRobust.Tests.Methods;
using GroupRobust.Tests.TestSupport;
using GroupRobust.Training;
using TorchSharp;

namespace GroupRobust.Tests.Identification;

/// <summary>
/// Label budgets follow what the groups are: an edited saved source or maker mark, ground truth passed through any
/// inferred factory (met at the factory, a view, a load, a method's first batch or the ready loop), and the library's
/// own identifiers, whose perfect error sets are not oracles.
/// </summary>
public class ProvenanceTests
{
    // 2 classes x 2 attributes; the minority groups are (0, 1) and (1, 0)
    private static readonly int[] Labels = [0, 0, 0, 0, 1, 1, 1, 1, 0, 1];
    private static readonly int[] Attributes = [0, 0, 0, 1, 1, 1, 1, 0, 0, 1];

    [Fact]
    public void True_attributes_through_the_inferred_factories_count_as_true_groups()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        // the minority groups as an "error set": the same partition as the true groups
        var laundered = GroupAssignment.FromErrorSet(Attributes.Select((a, i) => a != Labels[i]).ToArray(), ds, "not-really-inferred");
        Assert.Equal(GroupSource.TrueLabels, laundered.Source);
        Assert.Equal(LabelBudget.TrainingGroups, laundered.TrainingBudget);
        Assert.Contains("found equal to the true groups", laundered.Metadata.Parameters["provenance"]);
        Assert.Contains("(true groups)", laundered.ToString());

        // the same through the index factory, with the values relabelled (the error set is the majority here): still the same partition
        var indices = Enumerable.Range(0, Labels.Length).Where(i => Attributes[i] == Labels[i]).Select(i => (long)i);
        Assert.Equal(LabelBudget.TrainingGroups, GroupAssignment.FromErrorIndices(indices, ds, "majority as error set").TrainingBudget);

        // a partition that is not the true one stays inferred, as does any partition of a dataset without group labels
        var honest = GroupAssignment.FromErrorIndices([0, 4], ds, "honest");
        honest.EnsureMatches(ds);
        Assert.Equal(GroupSource.Inferred, honest.Source);
        using var unannotated = Tiny.Dataset(Labels, null);
        var blind = GroupAssignment.FromErrorSet(Attributes.Select((a, i) => a != Labels[i]).ToArray(), unannotated, "blind");
        Assert.Equal(GroupSource.Inferred, blind.Source);
        // a view that hides the annotations is looked through: the dataset beneath it has them
        var hidden = GroupAssignment.FromErrorSet(Attributes.Select((a, i) => a != Labels[i]).ToArray(), ds.WithoutGroupLabels(), "hidden");
        Assert.Equal(GroupSource.TrueLabels, hidden.Source);
        // a trivial partition (one group per class) says nothing and stays inferred
        var trivial = GroupAssignment.FromInferred(new int[Labels.Length], Labels, 2, 1, [], "one group");
        trivial.EnsureMatches(ds);
        Assert.Equal(GroupSource.Inferred, trivial.Source);
    }

    [Fact]
    public void Editing_a_saved_assignments_source_fails_its_checksum()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        var truth = GroupAssignment.FromTrueGroups(ds);
        using var dir = new TempDirectory();
        truth.Save(dir.File("g.csv"));
        Assert.Equal(GroupSource.TrueLabels, GroupAssignment.Load(dir.File("g.csv"), ds).Source);
        var lines = File.ReadAllLines(dir.File("g.csv"));
        Assert.Contains("\"source\":\"TrueLabels\"", lines[1]);
        lines[1] = lines[1].Replace("\"source\":\"TrueLabels\"", "\"source\":\"Inferred\"");
        File.WriteAllLines(dir.File("g.csv"), lines);
        var ex = Assert.Throws<FormatException>(() => GroupAssignment.Load(dir.File("g.csv"), ds));
        Assert.Contains("g.csv", ex.Message);
        Assert.Contains("line 2 fails its checksum", ex.Message);
        // removing the checksum makes it a file of an earlier version, which loads, but its groups are still the true ones
        lines[1] = System.Text.RegularExpressions.Regex.Replace(lines[1], ",\"contentSha256\":\"[0-9A-F]+\"", "");
        File.WriteAllLines(dir.File("g.csv"), lines);
        Assert.Equal(GroupSource.TrueLabels, GroupAssignment.Load(dir.File("g.csv"), ds).Source);
    }

    private static int[] TrueValues(IGroupDataset ds) => ds.Groups.ToArray().Select(g => g % ds.Scheme.NumAttributes).ToArray();

    [Fact]
    public void True_groups_through_the_span_factory_count_as_true_groups_wherever_they_meet_the_dataset()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        GroupAssignment Laundered() => GroupAssignment.FromInferred(Attributes, Labels, 2, 2, [1, 2], "not-really-inferred");
        // no dataset at the factory: inferred until it meets one
        Assert.Equal(GroupSource.Inferred, Laundered().Source);

        // a view: the validation-selection path ("a view marked inferred over true groups")
        var viaView = Laundered();
        using (var view = viaView.ApplyTo(ds))
        {
            Assert.False(view.Inferred);
            Assert.Equal(LabelBudget.ValidationGroupsForSelection, SelectionRule.WorstGroupAccuracy.BudgetOn(view));
        }
        Assert.Equal(GroupSource.TrueLabels, viaView.Source);
        Assert.Contains("found equal to the true groups", viaView.Metadata.Parameters["provenance"]);

        // views are looked through: the same groups met through a view without group labels or a regrouped view
        var hidden = Laundered();
        hidden.EnsureMatches(ds.WithoutGroupLabels());
        Assert.Equal(GroupSource.TrueLabels, hidden.Source);
        using var other = GroupAssignment.FromInferred(new int[Labels.Length], Labels, 2, 1, [], "one group").ApplyTo(ds);
        var throughRegrouped = Laundered();
        using (throughRegrouped.ApplyTo(other)) Assert.Equal(GroupSource.TrueLabels, throughRegrouped.Source);

        // the evaluator's per-group report and a load against the dataset are meetings too
        var evaluated = Laundered();
        evaluated.Quality(ds);
        Assert.Equal(GroupSource.TrueLabels, evaluated.Source);
        using var dir = new TempDirectory();
        Laundered().Save(dir.File("l.csv"));
        Assert.Equal(GroupSource.Inferred, GroupAssignment.Load(dir.File("l.csv")).Source);
        Assert.Equal(GroupSource.TrueLabels, GroupAssignment.Load(dir.File("l.csv"), ds).Source);
        // and the error-set span factory is the same path
        var mask = Attributes.Select((a, i) => a != Labels[i]).ToArray();
        var spanErrorSet = GroupAssignment.FromErrorSet(mask, Labels, 2, "error set by hand");
        spanErrorSet.EnsureMatches(ds);
        Assert.Equal(GroupSource.TrueLabels, spanErrorSet.Source);
    }

    [Fact]
    public void A_method_on_laundered_groups_reports_training_groups_from_its_first_batch_and_in_the_ready_loop()
    {
        using var data = MethodFactory.Data(120);
        var train = data.Train;
        GroupAssignment Laundered() => GroupAssignment.FromInferred(TrueValues(train), train.Labels.Span, 2, train.Scheme.NumAttributes,
            GroupAssignment.FromTrueGroups(train).MinorityGroups.ToArray(), "not-really-inferred");

        // built by hand: the method has only the labels; its first batch brings the dataset
        using (var model = MethodFactory.Model(0))
        using (var method = new GroupDroMethod(Laundered(), new SeedSource(1)))
        {
            Assert.Equal(LabelBudget.None, method.LabelBudget);
            method.BeginEpoch(1, 1);
            using (var batch = train.WithoutGroupLabels().GetBatch([0, 1, 2, 3]))
            using (method.Loss(model, batch))
            {
            }
            Assert.Equal(LabelBudget.TrainingGroups, method.LabelBudget);
            Assert.Equal("GroupDRO", method.Name);
        }

        // the ready loop: before the method is handed a split without group labels
        foreach (var make in new Func<GroupAssignment, ITrainingMethod>[]
                 {
                     g => new JttMethod(g, new SeedSource(2), new JttOptions { Lambda = 3 }),
                     g => new GroupDroMethod(g, new SeedSource(2)),
                 })
        {
            using var model = MethodFactory.Model(1);
            using var method = make(Laundered());
            using var sgd = torch.optim.SGD(model.parameters(), 0.1);
            var history = TrainingLoop.Run(method, model, sgd, train, data.Validation, new TrainingLoopOptions
            {
                Epochs = 1, BatchSize = 60, Selection = SelectionRule.AverageAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
            });
            Assert.Equal(LabelBudget.TrainingGroups, history.LabelBudget);
        }

        // honest inferred groups (not the true partition) keep the method label-free
        var honest = Enumerable.Range(0, train.Count).Select(i => i % 2).ToArray();
        using (var model = MethodFactory.Model(0))
        using (var method = new GroupDroMethod(GroupAssignment.FromInferred(honest, train.Labels.Span, 2, 2, [1, 3], "honest"), new SeedSource(1)))
        using (var sgd = torch.optim.SGD(model.parameters(), 0.1))
        {
            var history = TrainingLoop.Run(method, model, sgd, train, data.Validation, new TrainingLoopOptions
            {
                Epochs = 1, BatchSize = 60, Selection = SelectionRule.AverageAccuracy, Evaluator = new EvaluatorOptions { BootstrapSamples = 0 },
            });
            Assert.Equal(LabelBudget.None, history.LabelBudget);
        }
    }

    [Fact]
    public void A_perfect_error_set_of_the_librarys_identifiers_is_not_an_oracle_and_the_mark_survives_a_save_but_not_an_edit()
    {
        using var ds = Tiny.Dataset(Labels, Attributes);
        var mask = Attributes.Select((a, i) => a != Labels[i]).ToArray();
        // what MisclassificationIdentifier builds when phase I errs on exactly the minority groups
        var perfect = GroupAssignment.Identified(mask, ds, "misclassification", 1);
        Assert.True(perfect.Metadata.IdentifiedByLibrary);
        using (perfect.ApplyTo(ds)) perfect.EnsureMatches(ds);
        Assert.Equal(GroupSource.Inferred, perfect.Source);
        Assert.Equal(LabelBudget.None, perfect.TrainingBudget);
        // but said: an identifier trusts the predictions it is given
        Assert.Contains("found equal to the true groups", perfect.Metadata.Parameters["provenance"]);
        Assert.Contains("not counted as an oracle", perfect.Metadata.Parameters["provenance"]);

        using var dir = new TempDirectory();
        perfect.Save(dir.File("e.csv"));
        var loaded = GroupAssignment.Load(dir.File("e.csv"), ds);
        Assert.True(loaded.Metadata.IdentifiedByLibrary);
        Assert.Equal(GroupSource.Inferred, loaded.Source);   // a resumed run reports the budget of the uninterrupted one

        // claiming the library as the maker of hand-made groups fails the checksum; without a checksum the claim is not believed
        var lines = File.ReadAllLines(dir.File("e.csv"));
        Assert.Contains("\"identifiedByLibrary\":true", lines[1]);
        var forged = GroupAssignment.FromErrorSet(mask, Labels, 2, "by hand");
        forged.Save(dir.File("f.csv"));
        var forgedLines = File.ReadAllLines(dir.File("f.csv"));
        Assert.DoesNotContain("identifiedByLibrary", forgedLines[1]);
        forgedLines[1] = forgedLines[1].Replace("\"method\":\"by hand\"", "\"method\":\"by hand\",\"identifiedByLibrary\":true");
        File.WriteAllLines(dir.File("f.csv"), forgedLines);
        Assert.Contains("line 2 fails its checksum", Assert.Throws<FormatException>(() => GroupAssignment.Load(dir.File("f.csv"), ds)).Message);
        lines[1] = System.Text.RegularExpressions.Regex.Replace(lines[1], ",\"contentSha256\":\"[0-9A-F]+\"", "");
        File.WriteAllLines(dir.File("e.csv"), lines);
        var unvouched = GroupAssignment.Load(dir.File("e.csv"), ds);
        Assert.False(unvouched.Metadata.IdentifiedByLibrary);
        Assert.Equal(GroupSource.TrueLabels, unvouched.Source);
    }
}
