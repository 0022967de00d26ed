using System.Globalization;
using System.Text;
using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Groups;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// The group of every training sample, true or inferred: the one currency between group identification and the
/// group-robust methods. Groups follow the library's convention <c>g = y * K + k</c> with K values per class, so
/// <see cref="Scheme"/> is a <see cref="GroupScheme"/> every group-based component understands. Immutable.
/// </summary>
/// <remarks>
/// <para>An error set (JTT, JM1) is the case K = 2: value 0 "rest", value 1 "error set", and the error-set groups are the
/// <see cref="MinorityGroups"/>. True annotations (<see cref="FromTrueGroups"/>) have K = A, the attribute values, and
/// are marked <see cref="GroupSource.TrueLabels"/>; an identifier may also infer any K &gt;= 1 values per class
/// (<see cref="FromInferred"/>).</para>
/// <para>Every consumer takes it: <c>JttReweighter</c> upsamples the minority side,
/// <c>ClassConditionalMixer</c> draws partners from the other groups of the same class,
/// <c>GroupDroLoss</c> and <c>GroupBalancedSampler</c> work on its groups, and the
/// evaluator reports accuracy per assigned group.</para>
/// <para>File format (<see cref="Save(string)"/>): CSV with two comment lines (a version tag and the JSON metadata), a header
/// <c>index,label,group</c>, then one row per sample. <see cref="Load(string, IGroupDataset?)"/> also reads the earlier
/// partition files (<c># grouprobust-partition v1</c>, header <c>index,label,error_set</c>).</para>
/// </remarks>
public sealed class GroupAssignment
{
    private const string FormatTag = "# grouprobust-groups v1";
    private const string PartitionFormatTag = "# grouprobust-partition v1";
    private const long MaxGroups = GroupScheme.MaxGroups;
    private static readonly string[] ErrorSetValueNames = ["rest", "error set"];
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private readonly int[] _labels;
    private readonly int[] _groups;
    private readonly int[][] _members;
    private readonly bool[] _minorityGroup;
    private readonly GroupAssignmentMetadata _metadata;
    private volatile GroupAssignmentMetadata? _proven;   // set once inferred groups are found equal to a dataset's true groups
    private volatile IGroupDataset? _comparedWith;       // the last dataset whose true groups the groups were compared with

    private GroupAssignment(int[] labels, int[] groups, GroupAssignmentMetadata metadata)
    {
        _labels = labels;
        _groups = groups;
        _metadata = metadata;
        Scheme = new GroupScheme(metadata.NumClasses, metadata.GroupsPerClass, metadata.ClassNames, metadata.ValueNames);
        var counts = new int[Scheme.NumGroups];
        foreach (var g in groups) counts[g]++;
        _members = counts.Select(n => new int[n]).ToArray();
        Array.Clear(counts);
        for (int i = 0; i < groups.Length; i++) _members[groups[i]][counts[groups[i]]++] = i;
        _minorityGroup = new bool[Scheme.NumGroups];
        foreach (var g in metadata.MinorityGroups) _minorityGroup[g] = true;
        MinorityCount = metadata.MinorityGroups.Sum(g => _members[g].Length);
    }

    /// <summary>Builds an error-set assignment (K = 2: value 1 is the error set) from a membership mask.</summary>
    /// <param name="inErrorSet">One flag per sample: true when the sample is in the error set.</param>
    /// <param name="labels">The dataset's labels, same length, in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">Number of classes C, at least 1.</param>
    /// <param name="method">Identification method name recorded in the metadata.</param>
    /// <param name="epoch">Phase-I epoch, when applicable.</param>
    /// <param name="parameters">Creation parameters recorded in the metadata.</param>
    /// <param name="classNames">Class names (length C); "y=0", ... when null.</param>
    /// <exception cref="ArgumentException">Lengths differ or the dataset is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public static GroupAssignment FromErrorSet(ReadOnlySpan<bool> inErrorSet, ReadOnlySpan<int> labels, int numClasses, string method,
        int? epoch = null, IReadOnlyDictionary<string, string>? parameters = null, IReadOnlyList<string>? classNames = null)
        => TwoSided(inErrorSet, labels, numClasses, method, GroupSource.Inferred, epoch, parameters, classNames);

    /// <summary>
    /// The K = 2 assignment "(y, rest)" / "(y, error set)" with the error-set groups as the minority side;
    /// <c>identifiedByLibrary</c> is true only for the library's identifiers (see <see cref="GroupAssignmentMetadata.IdentifiedByLibrary"/>).
    /// </summary>
    internal static GroupAssignment TwoSided(ReadOnlySpan<bool> inErrorSet, ReadOnlySpan<int> labels, int numClasses, string method, GroupSource source,
        int? epoch, IReadOnlyDictionary<string, string>? parameters, IReadOnlyList<string>? classNames, bool identifiedByLibrary = false)
    {
        if (inErrorSet.Length != labels.Length)
            throw new ArgumentException($"'inErrorSet' has {inErrorSet.Length} flags but 'labels' has {labels.Length} entries.", nameof(inErrorSet));
        var values = new int[inErrorSet.Length];
        for (int i = 0; i < values.Length; i++) values[i] = inErrorSet[i] ? 1 : 0;
        var minority = Enumerable.Range(0, Math.Max(numClasses, 0)).Select(y => y * 2 + 1).ToArray();
        return Build(values, labels, numClasses, 2, method, source, minority, epoch, parameters, classNames, ErrorSetValueNames, identifiedByLibrary);
    }

    /// <summary>
    /// Builds an error-set assignment of <paramref name="dataset"/> from a membership mask (class names from its scheme).
    /// When the dataset has group labels and the mask splits every class exactly as they do, the assignment is ground
    /// truth, not an inference, and counts as <see cref="GroupSource.TrueLabels"/> (see <see cref="Source"/>).
    /// </summary>
    /// <inheritdoc cref="FromErrorSet(ReadOnlySpan{bool}, ReadOnlySpan{int}, int, string, int?, IReadOnlyDictionary{string, string}?, IReadOnlyList{string}?)"/>
    public static GroupAssignment FromErrorSet(ReadOnlySpan<bool> inErrorSet, IGroupDataset dataset, string method, int? epoch = null,
        IReadOnlyDictionary<string, string>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var assignment = FromErrorSet(inErrorSet, dataset.Labels.Span, dataset.Scheme.NumClasses, method, epoch, parameters, dataset.Scheme.ClassNames);
        assignment.CheckProvenance(dataset);
        return assignment;
    }

    /// <summary>
    /// The error set an identifier of the library found from a model's predictions (it reads no group label): marked
    /// <see cref="GroupAssignmentMetadata.IdentifiedByLibrary"/>, so it is never compared with true groups.
    /// </summary>
    internal static GroupAssignment Identified(ReadOnlySpan<bool> inErrorSet, IGroupDataset dataset, string method, int? epoch = null,
        IReadOnlyDictionary<string, string>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return TwoSided(inErrorSet, dataset.Labels.Span, dataset.Scheme.NumClasses, method, GroupSource.Inferred, epoch, parameters,
            dataset.Scheme.ClassNames, identifiedByLibrary: true);
    }

    /// <summary>
    /// Groups one of the library's identifiers inferred with K values per class (XRM's, EIIL's environments): as
    /// <see cref="FromInferred"/>, marked <see cref="GroupAssignmentMetadata.IdentifiedByLibrary"/>.
    /// </summary>
    internal static GroupAssignment InferredByLibrary(ReadOnlySpan<int> values, IGroupDataset dataset, int groupsPerClass,
        IReadOnlyCollection<int> minorityGroups, string method, int? epoch, IReadOnlyDictionary<string, string>? parameters, IReadOnlyList<string> valueNames)
        => Build(values, dataset.Labels.Span, dataset.Scheme.NumClasses, groupsPerClass, method, GroupSource.Inferred, minorityGroups, epoch, parameters,
            dataset.Scheme.ClassNames, valueNames, identifiedByLibrary: true);

    /// <summary>
    /// Groups one of the library's identifiers predicted with a model fitted on the validation split's group labels (SSA),
    /// K values per class: marked <see cref="GroupSource.FittedOnValidationGroups"/>, so a method trained on them counts
    /// <see cref="LabelBudget.ValidationGroupsForFitting"/>.
    /// </summary>
    internal static GroupAssignment FittedOnValidationGroups(ReadOnlySpan<int> values, IGroupDataset dataset, int groupsPerClass,
        IReadOnlyCollection<int> minorityGroups, string method, IReadOnlyDictionary<string, string>? parameters, IReadOnlyList<string> valueNames)
        => Build(values, dataset.Labels.Span, dataset.Scheme.NumClasses, groupsPerClass, method, GroupSource.FittedOnValidationGroups, minorityGroups, null, parameters,
            dataset.Scheme.ClassNames, valueNames);

    /// <summary>Builds an error-set assignment whose error set is exactly <paramref name="errorIndices"/> (repeats are ignored).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public static GroupAssignment FromErrorIndices(IEnumerable<long> errorIndices, IGroupDataset dataset, string method, int? epoch = null)
    {
        ArgumentNullException.ThrowIfNull(errorIndices);
        ArgumentNullException.ThrowIfNull(dataset);
        var mask = new bool[dataset.Count];
        foreach (var i in errorIndices)
        {
            if ((ulong)i >= (ulong)mask.Length)
                throw new ArgumentOutOfRangeException(nameof(errorIndices), i, $"Index {i} is out of range; the dataset has {mask.Length} samples.");
            mask[i] = true;
        }
        return FromErrorSet(mask, dataset, method, epoch);
    }

    /// <summary>
    /// Builds an inferred assignment with <paramref name="groupsPerClass"/> values per class: sample i is in group
    /// <c>labels[i] * K + values[i]</c>. The factory has no dataset to compare with, so the groups are compared with a
    /// dataset's true groups wherever the assignment meets one (<see cref="EnsureMatches"/>: <see cref="ApplyTo"/>,
    /// <see cref="Load(string, IGroupDataset?)"/>, a method, a recipe, the evaluator, or the first batch a method trains on):
    /// equal groups count as <see cref="GroupSource.TrueLabels"/> from then on (see <see cref="Source"/>).
    /// </summary>
    /// <param name="values">The inferred value of every sample, in [0, K).</param>
    /// <param name="labels">The labels, same length, in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">Number of classes C, at least 1.</param>
    /// <param name="groupsPerClass">Values per class K, at least 1.</param>
    /// <param name="minorityGroups">The groups on the minority side (for JTT's upsampling and JM1's orientation); each in [0, C K).</param>
    /// <param name="method">Identification method name recorded in the metadata.</param>
    /// <param name="epoch">Phase-I epoch, when applicable.</param>
    /// <param name="parameters">Creation parameters recorded in the metadata.</param>
    /// <param name="classNames">Class names (length C); defaults when null.</param>
    /// <param name="valueNames">Names of the K values; "k=0", ... when null.</param>
    public static GroupAssignment FromInferred(ReadOnlySpan<int> values, ReadOnlySpan<int> labels, int numClasses, int groupsPerClass,
        IReadOnlyCollection<int> minorityGroups, string method, int? epoch = null, IReadOnlyDictionary<string, string>? parameters = null,
        IReadOnlyList<string>? classNames = null, IReadOnlyList<string>? valueNames = null)
    {
        ArgumentNullException.ThrowIfNull(minorityGroups);
        return Build(values, labels, numClasses, groupsPerClass, method, GroupSource.Inferred, minorityGroups, epoch, parameters, classNames,
            valueNames ?? Enumerable.Range(0, Math.Max(groupsPerClass, 0)).Select(k => $"k={k}").ToArray());
    }

    /// <summary>
    /// The dataset's true groups (K = A, the attribute values), marked <see cref="GroupSource.TrueLabels"/>: a method fed with
    /// it uses training group labels. The minority side is <paramref name="minorityGroups"/>, or by default every group that is
    /// not the largest of its class (ties: all largest groups are majority).
    /// </summary>
    /// <param name="dataset">A dataset with group annotations.</param>
    /// <param name="minorityGroups">Explicit minority groups; null for the largest-group-per-class rule.</param>
    /// <param name="method">Method name recorded in the metadata (default "true-groups").</param>
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public static GroupAssignment FromTrueGroups(IGroupDataset dataset, IReadOnlyCollection<int>? minorityGroups = null, string method = "true-groups")
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.HasGroups)
            throw new InvalidOperationException("The dataset has no group labels, so its true groups are unknown; use an identifier to infer them.");
        var scheme = dataset.Scheme;
        var minority = minorityGroups?.ToArray() ?? OracleIdentifier.MinorityGroupsOf(dataset).ToArray();
        var groups = dataset.Groups.Span;
        var values = new int[groups.Length];
        for (int i = 0; i < values.Length; i++) values[i] = groups[i] % scheme.NumAttributes;
        return Build(values, dataset.Labels.Span, scheme.NumClasses, scheme.NumAttributes, method, GroupSource.TrueLabels, minority, null,
            null, scheme.ClassNames, scheme.AttributeNames);
    }

    private static GroupAssignment Build(ReadOnlySpan<int> values, ReadOnlySpan<int> labels, int numClasses, int groupsPerClass, string method,
        GroupSource source, IReadOnlyCollection<int> minorityGroups, int? epoch, IReadOnlyDictionary<string, string>? parameters,
        IReadOnlyList<string>? classNames, IReadOnlyList<string> valueNames, bool identifiedByLibrary = false)
    {
        if (values.Length != labels.Length)
            throw new ArgumentException($"'values' has {values.Length} entries but 'labels' has {labels.Length}.", nameof(values));
        if (labels.Length == 0) throw new ArgumentException("A group assignment needs at least one sample.", nameof(labels));
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "At least 1 class is needed.");
        if (groupsPerClass < 1) throw new ArgumentOutOfRangeException(nameof(groupsPerClass), groupsPerClass, "At least 1 group per class is needed.");
        ArgumentException.ThrowIfNullOrEmpty(method);
        int numGroups = numClasses * groupsPerClass;
        foreach (var g in minorityGroups)
            if ((uint)g >= (uint)numGroups)
                throw new ArgumentOutOfRangeException(nameof(minorityGroups), g, $"Minority group {g} is out of range [0, {numGroups - 1}].");
        var groups = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label at index {i} is {labels[i]}; expected [0, {numClasses - 1}].");
            if ((uint)values[i] >= (uint)groupsPerClass)
                throw new ArgumentOutOfRangeException(nameof(values), values[i], $"Value at index {i} is {values[i]}; expected [0, {groupsPerClass - 1}].");
            groups[i] = labels[i] * groupsPerClass + values[i];
        }
        var meta = new GroupAssignmentMetadata
        {
            Method = method,
            Epoch = epoch,
            Source = source,
            DatasetSize = labels.Length,
            NumClasses = numClasses,
            GroupsPerClass = groupsPerClass,
            ClassNames = classNames?.ToArray() ?? Enumerable.Range(0, numClasses).Select(i => $"y={i}").ToArray(),
            ValueNames = valueNames.ToArray(),
            MinorityGroups = minorityGroups.Distinct().Order().ToArray(),
            LabelsFingerprint = Fingerprint(labels),
            Parameters = parameters?.ToDictionary() ?? new Dictionary<string, string>(),
            IdentifiedByLibrary = identifiedByLibrary && source == GroupSource.Inferred,
        };
        if (meta.ClassNames.Count != numClasses)
            throw new ArgumentException($"Expected {numClasses} class names, got {meta.ClassNames.Count}.", nameof(classNames));
        if (meta.ValueNames.Count != groupsPerClass)
            throw new ArgumentException($"Expected {groupsPerClass} value names, got {meta.ValueNames.Count}.", nameof(valueNames));
        return new GroupAssignment(labels.ToArray(), groups, meta);
    }

    /// <summary>
    /// Provenance, structure and creation parameters. Inferred groups found equal to a dataset's true groups (see
    /// <see cref="Source"/>) report <see cref="GroupSource.TrueLabels"/> here, with the parameter "provenance" saying why.
    /// </summary>
    public GroupAssignmentMetadata Metadata => _proven ?? _metadata;

    /// <summary>The group structure: C classes x K values per class, with names; group ids are <c>y * K + k</c>.</summary>
    public GroupScheme Scheme { get; }

    /// <summary>
    /// Whether the groups are true annotations or inferred (the label budget they stand for). An "inferred" assignment
    /// built by a public factory (<see cref="FromErrorSet(ReadOnlySpan{bool}, IGroupDataset, string, int?, IReadOnlyDictionary{string, string}?)"/>,
    /// <see cref="FromErrorIndices"/>, <see cref="FromInferred"/>, the span <c>FromErrorSet</c>) or loaded from a file that
    /// does not vouch for the library as its maker is compared with the true groups of every dataset it meets (at the
    /// factory when it takes the dataset, then <see cref="EnsureMatches"/>: <see cref="ApplyTo"/>, <see cref="Load(string, IGroupDataset?)"/>,
    /// a method's construction or its first batch, a recipe, the evaluator; through views: a <see cref="RegroupedView"/> or
    /// an <see cref="UngroupedView"/> is compared with the dataset beneath it). When it is the same partition of every class
    /// (up to the names of the values) it is ground truth passed through an inferred factory, and counts as
    /// <see cref="GroupSource.TrueLabels"/> from then on, its metadata saying why. Groups the library's identifiers made
    /// (<see cref="GroupAssignmentMetadata.IdentifiedByLibrary"/>; the mark travels in saved files under their checksum) stay
    /// inferred even when equal (they read no group label, and a perfect identifier is not an oracle), but the metadata's
    /// "provenance" parameter then says so: an identifier trusts the predictions it is given, and predictions made from the
    /// true groups would pass through it.
    /// </summary>
    public GroupSource Source => Metadata.Source;

    /// <summary>Number of samples N of the indexed dataset.</summary>
    public int Count => _labels.Length;

    /// <summary>Number of classes C.</summary>
    public int NumClasses => Scheme.NumClasses;

    /// <summary>Groups per class K.</summary>
    public int GroupsPerClass => Scheme.NumAttributes;

    /// <summary>Number of groups C K.</summary>
    public int NumGroups => Scheme.NumGroups;

    /// <summary>The group of every sample (host memory).</summary>
    public ReadOnlyMemory<int> Groups => _groups;

    /// <summary>The label of every sample, as recorded when the assignment was made.</summary>
    public ReadOnlyMemory<int> Labels => _labels;

    /// <summary>The groups on the minority side, ascending.</summary>
    public IReadOnlyList<int> MinorityGroups => Metadata.MinorityGroups;

    /// <summary>Number of samples in minority groups (|E| for an error set).</summary>
    public int MinorityCount { get; }

    /// <summary>The group of sample <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, N).</exception>
    public int GroupOf(long index) => _groups[CheckIndex(index, nameof(index))];

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, N).</exception>
    public int LabelOf(long index) => _labels[CheckIndex(index, nameof(index))];

    /// <summary>True when group <paramref name="group"/> is on the minority side.</summary>
    public bool IsMinorityGroup(int group)
    {
        Scheme.CheckGroup(group, nameof(group));
        return _minorityGroup[group];
    }

    /// <summary>True when sample <paramref name="index"/> is in a minority group (in the error set, for an error set).</summary>
    public bool IsMinority(long index) => _minorityGroup[GroupOf(index)];

    /// <summary>The members of group <paramref name="group"/>, ascending.</summary>
    public ReadOnlySpan<int> MembersOf(int group)
    {
        Scheme.CheckGroup(group, nameof(group));
        return _members[group];
    }

    /// <summary>Number of samples in every group (length C K).</summary>
    public long[] GroupCounts() => _members.Select(m => (long)m.Length).ToArray();

    /// <summary>Indices of all minority-group samples, ascending (the error set).</summary>
    public long[] MinorityIndices()
    {
        var result = new long[MinorityCount];
        int k = 0;
        for (int i = 0; i < _groups.Length; i++)
            if (_minorityGroup[_groups[i]]) result[k++] = i;
        return result;
    }

    /// <summary>One flag per sample: true when it is in a minority group.</summary>
    public bool[] MinorityMask() => _groups.Select(g => _minorityGroup[g]).ToArray();

    /// <summary>The group ids of <paramref name="indices"/> as an Int64 tensor on <paramref name="device"/> (what GroupDRO needs per batch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public Tensor GroupTensor(ReadOnlySpan<long> indices, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var ids = new long[indices.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = _groups[CheckIndex(indices[i], nameof(indices))];
        return HostUpload.Int64(ids, device);
    }

    /// <summary>The samples of class <paramref name="label"/> on the minority side, and all of the class's samples.</summary>
    internal (int Minority, int Total) CountsOfClass(int label)
    {
        int minority = 0, total = 0;
        for (int g = label * GroupsPerClass; g < (label + 1) * GroupsPerClass; g++)
        {
            total += _members[g].Length;
            if (_minorityGroup[g]) minority += _members[g].Length;
        }
        return (minority, total);
    }

    /// <summary>
    /// Classes whose minority side holds half or more of their samples, in class order: there it is no minority, as
    /// upsampling and mixing assume (the bound of JTT's automatic lambda, the recipe's searches and the class-conditional
    /// mixer).
    /// </summary>
    internal IEnumerable<int> ClassesWithoutAMinority()
        => Enumerable.Range(0, NumClasses).Where(c => CountsOfClass(c) is var (minority, total) && total > 0 && 2L * minority >= total);

    /// <summary>The minority side's share of class <paramref name="label"/> as messages name it: "{count} of the {n} samples of class '{name}' ({share}%)".</summary>
    internal string MinorityShareOfClass(int label)
    {
        var (minority, total) = CountsOfClass(label);
        return string.Create(CultureInfo.InvariantCulture, $"{minority} of the {total} samples of class '{Scheme.ClassNames[label]}' ({100.0 * minority / total:F0}%)");
    }

    /// <summary>
    /// Classes that have samples but all of them in one group: under class-conditional mixing their samples have no
    /// same-class partner in another group (an error set that covers a whole class, or misses it entirely).
    /// </summary>
    public IReadOnlyList<int> ClassesInOneGroup()
        => Enumerable.Range(0, NumClasses)
            .Where(c => Enumerable.Range(0, GroupsPerClass).Count(k => _members[c * GroupsPerClass + k].Length > 0) == 1)
            .ToArray();

    /// <summary>
    /// Throws unless this assignment indexes <paramref name="dataset"/> (same size, classes and labels). Inferred groups
    /// not made by the library's identifiers are then compared with the dataset's true groups (see <see cref="Source"/>).
    /// </summary>
    /// <param name="dataset">The dataset the assignment will be used with.</param>
    /// <param name="paramName">The argument name to report.</param>
    /// <exception cref="ArgumentException">The sizes, class counts or label fingerprints differ.</exception>
    public void EnsureMatches(IGroupDataset dataset, string paramName = "groups")
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count != Count)
            throw new ArgumentException($"The group assignment indexes {Count} samples but the dataset has {dataset.Count}: it was made for another dataset.", paramName);
        if (dataset.Scheme.NumClasses != NumClasses)
            throw new ArgumentException($"The group assignment has {NumClasses} classes but the dataset has {dataset.Scheme.NumClasses}.", paramName);
        var fp = Fingerprint(dataset.Labels.Span);
        if (fp != Metadata.LabelsFingerprint)
            throw new ArgumentException($"The dataset's labels (fingerprint {fp}) differ from the ones the group assignment was made for ({Metadata.LabelsFingerprint}): it was made for another dataset.", paramName);
        CheckProvenance(dataset);
    }

    /// <summary>
    /// Inferred groups that equal <paramref name="dataset"/>'s true groups (when it has them; a view is looked through to the
    /// dataset beneath it) count as true groups (<see cref="Source"/>). Only an informative true partition counts: one in
    /// which some class has two non-empty groups. Groups the library's identifiers made are not compared. Host memory only.
    /// </summary>
    internal void CheckProvenance(IGroupDataset dataset)
    {
        if (_metadata.Source != GroupSource.Inferred || _proven is not null) return;
        dataset = Annotated(dataset);
        // compared once per dataset (the loop hands a method a new view every epoch; the dataset beneath is the same)
        if (!dataset.HasGroups || dataset.Count != Count || ReferenceEquals(dataset, _comparedWith)) return;
        _comparedWith = dataset;
        int k = GroupsPerClass, a = dataset.Scheme.NumAttributes, c = NumClasses;
        var truth = dataset.Groups.Span;
        var toTrue = new int[c * k];
        var fromTrue = new int[c * a];
        Array.Fill(toTrue, -1);
        Array.Fill(fromTrue, -1);
        for (int i = 0; i < _groups.Length; i++)
        {
            int ours = _groups[i], theirs = truth[i];
            if (theirs / a != _labels[i]) return;   // groups inconsistent with the labels: not comparable
            if (toTrue[ours] == -1) toTrue[ours] = theirs;
            else if (toTrue[ours] != theirs) return;
            if (fromTrue[theirs] == -1) fromTrue[theirs] = ours;
            else if (fromTrue[theirs] != ours) return;
        }
        bool informative = Enumerable.Range(0, c).Any(y => Enumerable.Range(y * a, a).Count(g => fromTrue[g] != -1) >= 2);
        if (!informative) return;
        if (_metadata.IdentifiedByLibrary)
        {
            // the library's identifiers read no group label: a perfect identification is not an oracle, but it is said, so
            // that predictions made from the true groups and handed to an identifier cannot pass unseen
            _proven = _metadata with
            {
                Parameters = new Dictionary<string, string>(_metadata.Parameters)
                {
                    ["provenance"] = $"identified by '{_metadata.Method}' from predictions, found equal to the true groups of a dataset of {dataset.Count} samples " +
                                     "(not counted as an oracle: the identifier read no group label; check that the predictions it was given did not either)",
                },
            };
            return;
        }
        _proven = _metadata with
        {
            Source = GroupSource.TrueLabels,
            Parameters = new Dictionary<string, string>(_metadata.Parameters)
            {
                ["provenance"] = $"inferred by '{_metadata.Method}', found equal to the true groups of a dataset of {dataset.Count} samples: counted as true groups (an oracle)",
            },
        };
    }

    /// <summary>The dataset whose group labels are the annotations: views (regrouped, ungrouped) are looked through.</summary>
    private static IGroupDataset Annotated(IGroupDataset dataset)
    {
        while (true)
        {
            switch (dataset)
            {
                case RegroupedView regrouped: dataset = regrouped.Inner; break;
                case UngroupedView ungrouped: dataset = ungrouped.Inner; break;
                default: return dataset;
            }
        }
    }

    /// <summary>
    /// <paramref name="dataset"/> seen through this assignment's groups (a <see cref="RegroupedView"/>): batches carry
    /// these group ids, so per-group evaluation and worst-group model selection use them. For inferred groups the view is
    /// marked <see cref="RegroupedView.Inferred"/> and selection on it reads no group label (XRM's protocol).
    /// </summary>
    /// <param name="dataset">The dataset the assignment indexes.</param>
    /// <exception cref="ArgumentException">The assignment was made for another dataset.</exception>
    public RegroupedView ApplyTo(IGroupDataset dataset)
    {
        EnsureMatches(dataset, nameof(dataset));
        return new RegroupedView(dataset, Scheme, _groups, Source == GroupSource.Inferred);
    }

    /// <summary>
    /// The group labels a method trained on these groups reads: <see cref="LabelBudget.TrainingGroups"/> for true groups
    /// (<see cref="GroupSource.TrueLabels"/>), <see cref="LabelBudget.ValidationGroupsForFitting"/> for groups predicted by
    /// a model fitted on validation groups (<see cref="GroupSource.FittedOnValidationGroups"/>), <see cref="LabelBudget.None"/>
    /// for inferred ones.
    /// </summary>
    public LabelBudget TrainingBudget => Source switch
    {
        GroupSource.TrueLabels => LabelBudget.TrainingGroups,
        GroupSource.FittedOnValidationGroups => LabelBudget.ValidationGroupsForFitting,
        _ => LabelBudget.None,
    };

    /// <summary>The training split as a method on these groups may read it: with its group labels only for true groups.</summary>
    internal IGroupDataset Readable(IGroupDataset train) => Source == GroupSource.TrueLabels ? train : train.WithoutGroupLabels();

    /// <summary>Throws when an index of a batch is outside the assignment (a batch of another, larger dataset).</summary>
    internal void EnsureBatchIndices(ReadOnlySpan<long> indices, string paramName)
    {
        for (int i = 0; i < indices.Length; i++)
            if ((ulong)indices[i] >= (ulong)Count)
                throw new ArgumentOutOfRangeException(paramName, indices[i], $"Index at position {i} is {indices[i]}; the group assignment covers {Count} samples (was it made for another dataset?).");
    }

    /// <summary>
    /// Throws when a batch does not come from the dataset this assignment indexes. A batch a dataset made carries its
    /// origin: the origin's size must be this assignment's and its labels at the batch's indices the recorded ones (host
    /// memory, no device read), so a batch of a subset, a view of another size or another dataset is refused here instead
    /// of failing later with an index error. A batch built by hand is checked by its labels when they are on the CPU
    /// (other devices are not read: no sync); indices out of range are left to the caller's range check.
    /// </summary>
    internal void EnsureBatchLabels(Batch batch, string paramName)
    {
        if (batch.Origin is IGroupDataset origin)
        {
            if (origin.Count != Count)
                throw new ArgumentException($"The batch comes from a dataset of {origin.Count} samples ({origin.GetType().Name}) but the group assignment covers {Count}: " +
                    "it was made for another dataset (a subset or view of it has its own indices; build the component for the dataset the batches come from).", paramName);
            var originLabels = origin.Labels.Span;
            for (int i = 0; i < batch.Indices.Length; i++)
            {
                long idx = batch.Indices[i];
                if ((ulong)idx < (ulong)Count && LabelOf(idx) != originLabels[(int)idx])
                    throw new ArgumentException($"Row {i} (index {idx}) has label {originLabels[(int)idx]} in the batch's dataset but the group assignment recorded {LabelOf(idx)}: it was made for another dataset.", paramName);
            }
            return;
        }
        if (batch.Labels.device_type != DeviceType.CPU) return;
        using var scope = NewDisposeScope();
        var labels = batch.Labels.to(ScalarType.Int64).data<long>().ToArray();
        for (int i = 0; i < labels.Length; i++)
        {
            long idx = batch.Indices[i];
            if ((ulong)idx < (ulong)Count && LabelOf(idx) != labels[i])
                throw new ArgumentException($"Row {i} (index {idx}) has label {labels[i]} but the group assignment recorded {LabelOf(idx)}: it was made for another dataset.", paramName);
        }
    }

    /// <summary>
    /// How well the minority side matches the true minority groups of <paramref name="dataset"/> (JM1 Table 4): S, NS,
    /// precision and recall. The true minority groups default to the oracle rule (every group that is not the largest of
    /// its class). A report against true labels: it reads the dataset's group annotations.
    /// </summary>
    /// <param name="dataset">The dataset the assignment indexes, with group annotations.</param>
    /// <param name="minorityGroups">Explicit true minority group ids; null for the oracle rule.</param>
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public IdentificationQuality Quality(IGroupDataset dataset, IReadOnlyCollection<int>? minorityGroups = null)
    {
        EnsureMatches(dataset, nameof(dataset));
        var minority = (minorityGroups ?? OracleIdentifier.MinorityGroupsOf(dataset)).ToHashSet();
        foreach (var g in minority) dataset.Scheme.CheckGroup(g, nameof(minorityGroups));
        var groups = dataset.Groups.Span;
        var inE = new long[dataset.Scheme.NumGroups];
        var total = new long[dataset.Scheme.NumGroups];
        for (int i = 0; i < groups.Length; i++)
        {
            total[groups[i]]++;
            if (_minorityGroup[_groups[i]]) inE[groups[i]]++;
        }
        return new IdentificationQuality
        {
            MinorityInErrorSet = minority.Sum(g => inE[g]),
            MajorityInErrorSet = Enumerable.Range(0, inE.Length).Where(g => !minority.Contains(g)).Sum(g => inE[g]),
            MinorityTotal = minority.Sum(g => total[g]),
            MinorityGroups = minority.Order().ToArray(),
            ErrorSetPerGroup = inE,
            TotalPerGroup = total,
        };
    }

    /// <summary>Jaccard overlap |E1 ∩ E2| / |E1 ∪ E2| of the minority sides of two assignments of the same dataset (1 when both are empty).</summary>
    /// <exception cref="ArgumentException">The other assignment indexes another number of samples.</exception>
    public double Overlap(GroupAssignment other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count != Count)
            throw new ArgumentException($"The other assignment indexes {other.Count} samples, this one {Count}.", nameof(other));
        long inter = 0, union = 0;
        for (int i = 0; i < Count; i++)
        {
            bool a = _minorityGroup[_groups[i]], b = other._minorityGroup[other._groups[i]];
            if (a && b) inter++;
            if (a || b) union++;
        }
        return union == 0 ? 1.0 : (double)inter / union;
    }

    /// <summary>Writes the assignment as CSV (see the remarks), atomically: a temporary file is renamed over <paramref name="path"/>.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Writes the assignment as CSV to <paramref name="stream"/> (left open).</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var rows = new StringBuilder(Count * 12);
        for (int i = 0; i < Count; i++)
            rows.Append(CultureInfo.InvariantCulture, $"{i},{_labels[i]},{_groups[i]}\n");
        var rowBytes = Encoding.UTF8.GetBytes(rows.ToString());
        var meta = Metadata with { RowsSha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(rowBytes)), ContentSha256 = null };
        meta = meta with { ContentSha256 = ContentHash(meta, rowBytes) };
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        w.WriteLine(FormatTag);
        w.Write("# ");
        w.WriteLine(JsonSerializer.Serialize(meta, JsonOptions));
        w.WriteLine("index,label,group");
        w.Flush();
        stream.Write(rowBytes);
    }

    /// <summary>Reads an assignment written by <see cref="Save(string)"/> (or an earlier partition file) and checks it against <paramref name="dataset"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="dataset">The dataset it must index; null skips the check. Inferred groups in the file that are this dataset's true groups count as true groups, unless the file's checksum vouches that the library's identifiers made them (<see cref="Source"/>).</param>
    /// <exception cref="FormatException">The file is corrupted; the message names the file and line.</exception>
    /// <exception cref="ArgumentException">The file was made for another dataset.</exception>
    public static GroupAssignment Load(string path, IGroupDataset? dataset = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(stream, dataset, path);
    }

    /// <summary>Reads an assignment from <paramref name="stream"/>; see <see cref="Load(string, IGroupDataset?)"/>.</summary>
    /// <param name="stream">The CSV content.</param>
    /// <param name="dataset">The dataset it must index; null skips the check.</param>
    /// <param name="source">The name error messages use for the content (a file name).</param>
    public static GroupAssignment Load(Stream stream, IGroupDataset? dataset = null, string source = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        int lineNo = 0;
        string Next()
        {
            lineNo++;
            return r.ReadLine() ?? throw new FormatException($"{source}: unexpected end of file at line {lineNo}.");
        }
        var tag = Next();
        bool legacy = tag == PartitionFormatTag;
        if (!legacy && tag != FormatTag)
            throw new FormatException($"{source}: line 1 must be '{FormatTag}' (or '{PartitionFormatTag}'); this is not a GroupRobust group assignment.");
        var metaLine = Next().TrimStart('#', ' ');
        GroupAssignmentMetadata meta;
        try
        {
            meta = legacy ? LegacyMetadata(metaLine, source)
                : JsonSerializer.Deserialize<GroupAssignmentMetadata>(metaLine, JsonOptions) ?? throw new FormatException($"{source}: line 2 holds no metadata.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source}: line 2 is not valid metadata JSON: {ex.Message}", ex);
        }
        if (meta.DatasetSize <= 0 || meta.NumClasses <= 0 || meta.GroupsPerClass <= 0)
            throw new FormatException($"{source}: line 2 has dataset size {meta.DatasetSize}, {meta.NumClasses} classes and {meta.GroupsPerClass} groups per class; all must be positive.");
        // sizes from the header are checked before anything is allocated: a row takes at least 6 bytes ("i,y,g\n")
        if (stream.CanSeek && (long)meta.DatasetSize * 6 > stream.Length)
            throw new FormatException($"{source}: line 2 announces {meta.DatasetSize} rows but the file has only {stream.Length} bytes (at least 6 per row); the header is corrupted.");
        if ((long)meta.NumClasses * meta.GroupsPerClass > MaxGroups)
            throw new FormatException($"{source}: line 2 announces {meta.NumClasses} classes x {meta.GroupsPerClass} groups per class, more than {MaxGroups} groups; the header is corrupted.");
        if (meta.ClassNames is null || meta.ValueNames is null || meta.MinorityGroups is null || meta.LabelsFingerprint is null)
            throw new FormatException($"{source}: line 2 lacks class names, value names, minority groups or the labels fingerprint.");
        using var rowHash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var contentHash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        contentHash.AppendData(JsonSerializer.SerializeToUtf8Bytes(meta with { ContentSha256 = null }, JsonOptions));
        contentHash.AppendData("\n"u8);
        string header = legacy ? "index,label,error_set" : "index,label,group";
        if (Next() != header) throw new FormatException($"{source}: line 3 must be the header '{header}'.");
        int numGroups = meta.NumClasses * meta.GroupsPerClass;
        var values = new int[meta.DatasetSize];
        var labels = new int[meta.DatasetSize];
        for (int i = 0; i < meta.DatasetSize; i++)
        {
            var line = Next();
            var lineBytes = Encoding.UTF8.GetBytes(line + "\n");
            rowHash.AppendData(lineBytes);
            contentHash.AppendData(lineBytes);
            var parts = line.Split(',');
            if (parts.Length != 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int label)
                || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int third)
                || (legacy && third > 1))
                throw new FormatException($"{source}: line {lineNo} is '{line}'; expected 'index,label,{(legacy ? "0|1" : "group")}'.");
            if (index != i) throw new FormatException($"{source}: line {lineNo} has index {index}; expected {i} (rows must be in order).");
            if (label >= meta.NumClasses) throw new FormatException($"{source}: line {lineNo} has label {label}; expected [0, {meta.NumClasses - 1}].");
            if (!legacy && third >= numGroups) throw new FormatException($"{source}: line {lineNo} has group {third}; expected [0, {numGroups - 1}].");
            if (!legacy && third / meta.GroupsPerClass != label)
                throw new FormatException($"{source}: line {lineNo} has group {third}, which belongs to class {third / meta.GroupsPerClass}, but label {label} (g = y * {meta.GroupsPerClass} + k).");
            labels[i] = label;
            values[i] = legacy ? third : third % meta.GroupsPerClass;
        }
        // nothing may follow the announced rows: blank lines are tolerated only at the very end
        for (string? extra = r.ReadLine(); extra is not null; extra = r.ReadLine())
        {
            lineNo++;
            if (!string.IsNullOrWhiteSpace(extra))
                throw new FormatException($"{source}: line {lineNo} ('{(extra.Length > 60 ? extra[..60] + "..." : extra)}') follows the {meta.DatasetSize} rows the metadata announces (rows end on line {3 + meta.DatasetSize}).");
        }
        var fp = Fingerprint(labels);
        if (fp != meta.LabelsFingerprint)
            throw new FormatException($"{source}: the labels' fingerprint {fp} does not match the metadata's {meta.LabelsFingerprint}; the file is corrupted.");
        if (meta.RowsSha256 is string expected && !string.Equals(Convert.ToHexString(rowHash.GetHashAndReset()), expected, StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"{source}: the rows fail their checksum (the metadata's rowsSha256); a row was changed or corrupted.");
        if (meta.ContentSha256 is string content && !string.Equals(Convert.ToHexString(contentHash.GetHashAndReset()), content, StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"{source}: the metadata on line 2 fails its checksum (contentSha256 covers the source, the method and every other field with the rows); " +
                "it was edited or corrupted (a group source changed from true to inferred would misstate the label budget).");
        GroupAssignment assignment;
        try
        {
            // only a file whose checksum covers the mark vouches for the library as the groups' maker
            assignment = Build(values, labels, meta.NumClasses, meta.GroupsPerClass, meta.Method, meta.Source, meta.MinorityGroups, meta.Epoch,
                meta.Parameters, meta.ClassNames, meta.ValueNames, meta.IdentifiedByLibrary && meta.ContentSha256 is not null);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"{source}: the metadata on line 2 is inconsistent: {ex.Message}", ex);
        }
        // inferred groups not vouched for as the library's that are the dataset's true groups count as true groups
        if (dataset is not null) assignment.EnsureMatches(dataset, nameof(dataset));
        return assignment;
    }

    /// <summary>A one-line summary: method, sizes, and the size of every group.</summary>
    public override string ToString()
        => $"{Metadata.Method}{(Metadata.Epoch is int e ? $" @ epoch {e}" : "")} ({Source switch { GroupSource.TrueLabels => "true groups", GroupSource.FittedOnValidationGroups => "inferred from validation groups", _ => "inferred" }}): " +
           $"{MinorityCount} of {Count} on the minority side; groups " +
           string.Join(", ", Enumerable.Range(0, NumGroups).Select(g => $"{Scheme.GroupName(g)} {_members[g].Length}{(_minorityGroup[g] ? "*" : "")}"));

    /// <summary>SHA-256 (hex) of the metadata line (without this checksum) and the row lines: what <see cref="GroupAssignmentMetadata.ContentSha256"/> holds.</summary>
    private static string ContentHash(GroupAssignmentMetadata metaWithoutContentHash, ReadOnlySpan<byte> rowBytes)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(metaWithoutContentHash, JsonOptions));
        hash.AppendData("\n"u8);
        hash.AppendData(rowBytes);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    internal static string Fingerprint(ReadOnlySpan<int> labels)
    {
        ulong h = 14695981039346656037UL;
        foreach (var y in labels)
        {
            h ^= (uint)y;
            h *= 1099511628211UL;
        }
        h ^= (ulong)labels.Length;
        h *= 1099511628211UL;
        return h.ToString("x16", CultureInfo.InvariantCulture);
    }

    private int CheckIndex(long index, string name)
    {
        if ((ulong)index >= (ulong)Count)
            throw new ArgumentOutOfRangeException(name, index, $"Index must be in [0, {Count - 1}].");
        return (int)index;
    }

    private static GroupAssignmentMetadata LegacyMetadata(string json, string source)
    {
        var legacy = JsonSerializer.Deserialize<LegacyPartitionMetadata>(json, JsonOptions)
                     ?? throw new FormatException($"{source}: line 2 holds no metadata.");
        return new GroupAssignmentMetadata
        {
            Method = legacy.Method ?? throw new FormatException($"{source}: line 2 has no method."),
            Epoch = legacy.Epoch,
            Source = legacy.Method == "oracle" ? GroupSource.TrueLabels : GroupSource.Inferred,
            DatasetSize = legacy.DatasetSize,
            NumClasses = legacy.NumClasses,
            GroupsPerClass = 2,
            ClassNames = Enumerable.Range(0, Math.Max(legacy.NumClasses, 0)).Select(i => $"y={i}").ToArray(),
            ValueNames = ErrorSetValueNames,
            MinorityGroups = Enumerable.Range(0, Math.Max(legacy.NumClasses, 0)).Select(y => y * 2 + 1).ToArray(),
            LabelsFingerprint = legacy.LabelsFingerprint ?? throw new FormatException($"{source}: line 2 has no labels fingerprint."),
            Parameters = legacy.Parameters ?? new Dictionary<string, string>(),
        };
    }

    private sealed record LegacyPartitionMetadata(string? Method, int? Epoch, int DatasetSize, int NumClasses, string? LabelsFingerprint,
        Dictionary<string, string>? Parameters);
}
