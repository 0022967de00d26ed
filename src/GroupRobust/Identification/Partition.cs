using System.Globalization;
using System.Text;
using System.Text.Json;
using GroupRobust.Data;
using GroupRobust.Internal;

namespace GroupRobust.Identification;

/// <summary>
/// A split of a dataset's indices into the error set E (the minority proxy found in phase I) and the rest, with
/// per-class counts and per-class index lists of each side (what a partner sampler needs). Immutable.
/// </summary>
/// <remarks>
/// Storage is one bit per sample, the labels, and one int per sample for the per-class index lists. The file format
/// (<see cref="Save(string)"/>) is CSV: two comment lines (a version tag and the JSON metadata), a header
/// <c>index,label,error_set</c>, then one row per sample.
/// </remarks>
public sealed class Partition
{
    private const string FormatTag = "# grouprobust-partition v1";
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly ulong[] _bits;
    private readonly int[][] _error;
    private readonly int[][] _rest;
    private readonly int[] _labels;

    private Partition(ulong[] bits, ReadOnlySpan<int> labels, PartitionMetadata metadata)
    {
        _bits = bits;
        _labels = labels.ToArray();
        Metadata = metadata;
        int c = metadata.NumClasses;
        var errCounts = new int[c];
        var restCounts = new int[c];
        for (int i = 0; i < labels.Length; i++)
        {
            if (Get(bits, i)) errCounts[labels[i]]++;
            else restCounts[labels[i]]++;
        }
        _error = errCounts.Select(n => new int[n]).ToArray();
        _rest = restCounts.Select(n => new int[n]).ToArray();
        Array.Clear(errCounts);
        Array.Clear(restCounts);
        for (int i = 0; i < labels.Length; i++)
        {
            int y = labels[i];
            if (Get(bits, i)) _error[y][errCounts[y]++] = i;
            else _rest[y][restCounts[y]++] = i;
        }
        ErrorCount = _error.Sum(a => a.Length);
    }

    /// <summary>Builds a partition from a membership mask.</summary>
    /// <param name="inErrorSet">One flag per sample: true when the sample is in the error set.</param>
    /// <param name="labels">The dataset's labels, same length.</param>
    /// <param name="numClasses">Number of classes C; labels must be in [0, C).</param>
    /// <param name="method">Identification method name recorded in the metadata.</param>
    /// <param name="epoch">Phase-I epoch, when applicable.</param>
    /// <param name="parameters">Creation parameters recorded in the metadata.</param>
    /// <exception cref="ArgumentException">Lengths differ or the dataset is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public static Partition FromMask(ReadOnlySpan<bool> inErrorSet, ReadOnlySpan<int> labels, int numClasses, string method,
        int? epoch = null, IReadOnlyDictionary<string, string>? parameters = null)
    {
        if (inErrorSet.Length != labels.Length)
            throw new ArgumentException($"'inErrorSet' has {inErrorSet.Length} flags but 'labels' has {labels.Length} entries.", nameof(inErrorSet));
        if (labels.Length == 0) throw new ArgumentException("A partition needs at least one sample.", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentException.ThrowIfNullOrEmpty(method);
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label at index {i} is {labels[i]}; expected [0, {numClasses - 1}].");
        var bits = new ulong[(labels.Length + 63) / 64];
        for (int i = 0; i < inErrorSet.Length; i++)
            if (inErrorSet[i]) bits[i >> 6] |= 1UL << (i & 63);
        var meta = new PartitionMetadata
        {
            Method = method,
            Epoch = epoch,
            DatasetSize = labels.Length,
            NumClasses = numClasses,
            LabelsFingerprint = Fingerprint(labels),
            Parameters = parameters ?? new Dictionary<string, string>(),
        };
        return new Partition(bits, labels, meta);
    }

    /// <summary>Builds a partition of <paramref name="dataset"/> from a membership mask.</summary>
    public static Partition FromMask(ReadOnlySpan<bool> inErrorSet, IGroupDataset dataset, string method, int? epoch = null,
        IReadOnlyDictionary<string, string>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return FromMask(inErrorSet, dataset.Labels.Span, dataset.Scheme.NumClasses, method, epoch, parameters);
    }

    /// <summary>Builds a partition whose error set is exactly <paramref name="errorIndices"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public static Partition FromIndices(IEnumerable<long> errorIndices, IGroupDataset dataset, string method, int? epoch = null)
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
        return FromMask(mask, dataset, method, epoch);
    }

    /// <summary>Provenance and creation parameters.</summary>
    public PartitionMetadata Metadata { get; }

    /// <summary>Number of samples N of the indexed dataset.</summary>
    public int Count => Metadata.DatasetSize;

    /// <summary>Number of classes.</summary>
    public int NumClasses => Metadata.NumClasses;

    /// <summary>|E|, the error-set size.</summary>
    public int ErrorCount { get; }

    /// <summary>N - |E|.</summary>
    public int RestCount => Count - ErrorCount;

    /// <summary>True when sample <paramref name="index"/> is in the error set.</summary>
    public bool this[long index]
    {
        get
        {
            if ((ulong)index >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be in [0, {Count - 1}].");
            return Get(_bits, (int)index);
        }
    }

    /// <summary>True when sample <paramref name="index"/> is in the error set.</summary>
    public bool IsInErrorSet(long index) => this[index];

    /// <summary>The label of sample <paramref name="index"/>, as recorded when the partition was made.</summary>
    public int LabelOf(long index)
    {
        if ((ulong)index >= (ulong)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be in [0, {Count - 1}].");
        return _labels[index];
    }

    /// <summary>Error-set size of each class.</summary>
    public IReadOnlyList<int> ErrorCountsPerClass => _error.Select(a => a.Length).ToArray();

    /// <summary>Size of the rest of each class.</summary>
    public IReadOnlyList<int> RestCountsPerClass => _rest.Select(a => a.Length).ToArray();

    /// <summary>
    /// Classes that have samples but all of them on one side of the partition: under JM1 their samples have no
    /// same-class partner on the other side (an error set that covers a whole class, or misses it entirely).
    /// </summary>
    public IReadOnlyList<int> ClassesOnOneSide()
        => Enumerable.Range(0, NumClasses).Where(c => _error[c].Length + _rest[c].Length > 0 && (_error[c].Length == 0 || _rest[c].Length == 0)).ToArray();

    /// <summary>Indices of class <paramref name="label"/> in the error set, ascending.</summary>
    public ReadOnlySpan<int> ErrorIndicesOfClass(int label) => _error[CheckLabel(label)];

    /// <summary>Indices of class <paramref name="label"/> outside the error set, ascending.</summary>
    public ReadOnlySpan<int> RestIndicesOfClass(int label) => _rest[CheckLabel(label)];

    /// <summary>All error-set indices, ascending.</summary>
    public long[] ErrorIndices()
    {
        var result = new long[ErrorCount];
        int k = 0;
        for (int i = 0; i < Count; i++)
            if (Get(_bits, i)) result[k++] = i;
        return result;
    }

    /// <summary>The membership mask (true = error set).</summary>
    public bool[] ToMask()
    {
        var mask = new bool[Count];
        for (int i = 0; i < mask.Length; i++) mask[i] = Get(_bits, i);
        return mask;
    }

    /// <summary>Throws unless this partition indexes <paramref name="dataset"/> (same size and labels).</summary>
    /// <param name="dataset">The dataset the partition will be used with.</param>
    /// <param name="paramName">The argument name to report.</param>
    /// <exception cref="ArgumentException">The sizes or label fingerprints differ.</exception>
    public void EnsureMatches(IGroupDataset dataset, string paramName = "partition")
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count != Count)
            throw new ArgumentException($"The partition indexes {Count} samples but the dataset has {dataset.Count}: it was made for another dataset.", paramName);
        if (dataset.Scheme.NumClasses != NumClasses)
            throw new ArgumentException($"The partition has {NumClasses} classes but the dataset has {dataset.Scheme.NumClasses}.", paramName);
        var fp = Fingerprint(dataset.Labels.Span);
        if (fp != Metadata.LabelsFingerprint)
            throw new ArgumentException($"The partition's label fingerprint {Metadata.LabelsFingerprint} differs from the dataset's {fp}: it was made for another dataset (or another ordering).", paramName);
    }

    /// <summary>Quality against true groups (JM1 Table 4). Minority groups default to the oracle rule: every group that is not the largest group of its class.</summary>
    /// <param name="dataset">The dataset the partition indexes, with group annotations.</param>
    /// <param name="minorityGroups">Explicit minority group ids; null for the oracle rule.</param>
    /// <exception cref="InvalidOperationException">The dataset has no group labels.</exception>
    public PartitionQuality Quality(IGroupDataset dataset, IReadOnlyCollection<int>? minorityGroups = null)
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
            if (Get(_bits, i)) inE[groups[i]]++;
        }
        return new PartitionQuality
        {
            MinorityInErrorSet = minority.Sum(g => inE[g]),
            MajorityInErrorSet = Enumerable.Range(0, inE.Length).Where(g => !minority.Contains(g)).Sum(g => inE[g]),
            MinorityTotal = minority.Sum(g => total[g]),
            MinorityGroups = minority.Order().ToArray(),
            ErrorSetPerGroup = inE,
            TotalPerGroup = total,
        };
    }

    /// <summary>Jaccard overlap |E1 ∩ E2| / |E1 ∪ E2| of two error sets of the same dataset (1 when both are empty).</summary>
    public double Overlap(Partition other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count != Count)
            throw new ArgumentException($"The other partition indexes {other.Count} samples, this one {Count}.", nameof(other));
        long inter = 0, union = 0;
        for (int w = 0; w < _bits.Length; w++)
        {
            inter += (long)ulong.PopCount(_bits[w] & other._bits[w]);
            union += (long)ulong.PopCount(_bits[w] | other._bits[w]);
        }
        return union == 0 ? 1.0 : (double)inter / union;
    }

    /// <summary>Writes the partition as CSV (see the remarks), atomically: a temporary file is renamed over <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        AtomicFile.Write(path, Save);
    }

    /// <summary>Writes the partition as CSV to <paramref name="stream"/>.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        w.WriteLine(FormatTag);
        w.Write("# ");
        w.WriteLine(JsonSerializer.Serialize(Metadata, JsonOptions));
        w.WriteLine("index,label,error_set");
        var labels = _labels;
        for (int i = 0; i < Count; i++)
        {
            w.Write(i.ToString(CultureInfo.InvariantCulture));
            w.Write(',');
            w.Write(labels[i].ToString(CultureInfo.InvariantCulture));
            w.Write(',');
            w.WriteLine(Get(_bits, i) ? '1' : '0');
        }
    }

    /// <summary>Reads a partition written by <see cref="Save(string)"/> and checks it against <paramref name="dataset"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="dataset">The dataset it must index; null skips the check.</param>
    /// <exception cref="FormatException">The file is corrupted; the message names the file and line.</exception>
    /// <exception cref="ArgumentException">The file was made for another dataset.</exception>
    public static Partition Load(string path, IGroupDataset? dataset = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(stream, dataset, path);
    }

    /// <summary>Reads a partition from <paramref name="stream"/>; see <see cref="Load(string, IGroupDataset?)"/>.</summary>
    public static Partition Load(Stream stream, IGroupDataset? dataset = null, string source = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        int lineNo = 0;
        string Next()
        {
            lineNo++;
            return r.ReadLine() ?? throw new FormatException($"{source}: unexpected end of file at line {lineNo}.");
        }
        if (Next() != FormatTag) throw new FormatException($"{source}: line 1 must be '{FormatTag}'; this is not a GroupRobust partition file.");
        var metaLine = Next();
        PartitionMetadata meta;
        try
        {
            meta = JsonSerializer.Deserialize<PartitionMetadata>(metaLine.TrimStart('#', ' '), JsonOptions)
                   ?? throw new FormatException($"{source}: line 2 holds no metadata.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source}: line 2 is not valid metadata JSON: {ex.Message}", ex);
        }
        if (meta.DatasetSize <= 0 || meta.NumClasses <= 0)
            throw new FormatException($"{source}: line 2 has dataset size {meta.DatasetSize} and {meta.NumClasses} classes; both must be positive.");
        if (Next() != "index,label,error_set") throw new FormatException($"{source}: line 3 must be the header 'index,label,error_set'.");
        var mask = new bool[meta.DatasetSize];
        var labels = new int[meta.DatasetSize];
        for (int i = 0; i < meta.DatasetSize; i++)
        {
            var line = Next();
            var parts = line.Split(',');
            if (parts.Length != 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int label)
                || parts[2] is not ("0" or "1"))
                throw new FormatException($"{source}: line {lineNo} is '{line}'; expected 'index,label,0|1'.");
            if (index != i) throw new FormatException($"{source}: line {lineNo} has index {index}; expected {i} (rows must be in order).");
            if (label >= meta.NumClasses) throw new FormatException($"{source}: line {lineNo} has label {label}; expected [0, {meta.NumClasses - 1}].");
            labels[i] = label;
            mask[i] = parts[2] == "1";
        }
        if (r.ReadLine() is { Length: > 0 } extra)
            throw new FormatException($"{source}: line {lineNo + 1} ('{extra}') follows the {meta.DatasetSize} rows the metadata announces.");
        var fp = Fingerprint(labels);
        if (fp != meta.LabelsFingerprint)
            throw new FormatException($"{source}: the labels' fingerprint {fp} does not match the metadata's {meta.LabelsFingerprint}; the file is corrupted.");
        var bits = new ulong[(mask.Length + 63) / 64];
        for (int i = 0; i < mask.Length; i++)
            if (mask[i]) bits[i >> 6] |= 1UL << (i & 63);
        var partition = new Partition(bits, labels, meta);
        if (dataset is not null) partition.EnsureMatches(dataset, nameof(dataset));
        return partition;
    }

    /// <summary>A one-line summary: sizes per class on each side.</summary>
    public override string ToString()
        => $"{Metadata.Method}{(Metadata.Epoch is int e ? $" @ epoch {e}" : "")}: |E| = {ErrorCount} of {Count} " +
           $"(per class E/rest: {string.Join(", ", Enumerable.Range(0, NumClasses).Select(c => $"{_error[c].Length}/{_rest[c].Length}"))})";

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

    private int CheckLabel(int label)
    {
        if ((uint)label >= (uint)NumClasses)
            throw new ArgumentOutOfRangeException(nameof(label), label, $"Label must be in [0, {NumClasses - 1}].");
        return label;
    }

    private static bool Get(ulong[] bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;
}
