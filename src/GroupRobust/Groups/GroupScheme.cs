using System.Text.Json.Serialization;

namespace GroupRobust.Groups;

/// <summary>
/// The group structure of a task: <see cref="NumClasses"/> labels crossed with <see cref="NumAttributes"/>
/// values of a spurious attribute. A sample's group is <c>g = y * A + a</c>, the convention of the
/// GroupDRO and JTT reference code (Waterbirds: g = 2y + place; CelebA: g = 2 Blond + Male).
/// </summary>
public sealed record GroupScheme
{
    /// <summary>Creates a scheme.</summary>
    /// <param name="numClasses">Number of labels, at least 2.</param>
    /// <param name="numAttributes">Number of attribute values, at least 1.</param>
    /// <param name="classNames">Optional names of the labels (length <paramref name="numClasses"/>).</param>
    /// <param name="attributeNames">Optional names of the attribute values (length <paramref name="numAttributes"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range, or C * A exceeds <see cref="MaxGroups"/>.</exception>
    /// <exception cref="ArgumentException">A name list has the wrong length.</exception>
    [JsonConstructor]
    public GroupScheme(int numClasses, int numAttributes, IReadOnlyList<string>? classNames = null, IReadOnlyList<string>? attributeNames = null)
    {
        if (numClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A classification task needs at least 2 classes.");
        if (numAttributes < 1)
            throw new ArgumentOutOfRangeException(nameof(numAttributes), numAttributes, "At least 1 attribute value is needed.");
        if ((long)numClasses * numAttributes > MaxGroups)
            throw new ArgumentOutOfRangeException(nameof(numAttributes), numAttributes, $"{numClasses} classes x {numAttributes} attribute values is more than {MaxGroups} groups (a corrupted label or attribute column?).");
        if (classNames is not null && classNames.Count != numClasses)
            throw new ArgumentException($"Expected {numClasses} class names, got {classNames.Count}.", nameof(classNames));
        if (attributeNames is not null && attributeNames.Count != numAttributes)
            throw new ArgumentException($"Expected {numAttributes} attribute names, got {attributeNames.Count}.", nameof(attributeNames));
        NumClasses = numClasses;
        NumAttributes = numAttributes;
        ClassNames = classNames?.ToArray() ?? Enumerable.Range(0, numClasses).Select(i => $"y={i}").ToArray();
        AttributeNames = attributeNames?.ToArray() ?? Enumerable.Range(0, numAttributes).Select(i => $"a={i}").ToArray();
    }

    /// <summary>The largest number of groups C * A a scheme may have (2^24): far above any real task, far below a size that would overflow.</summary>
    public const int MaxGroups = 1 << 24;

    /// <summary>Number of labels (C).</summary>
    public int NumClasses { get; }

    /// <summary>Number of spurious attribute values (A).</summary>
    public int NumAttributes { get; }

    /// <summary>Number of groups, C * A.</summary>
    [JsonIgnore]
    public int NumGroups => NumClasses * NumAttributes;

    /// <summary>Names of the labels; "y=0", "y=1", ... when none were given.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Names of the attribute values; "a=0", "a=1", ... when none were given.</summary>
    public IReadOnlyList<string> AttributeNames { get; }

    /// <summary>The group of label <paramref name="label"/> and attribute <paramref name="attribute"/>: <c>label * A + attribute</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Either value is out of range.</exception>
    public int GroupOf(int label, int attribute)
    {
        CheckLabel(label, nameof(label));
        if ((uint)attribute >= (uint)NumAttributes)
            throw new ArgumentOutOfRangeException(nameof(attribute), attribute, $"Attribute must be in [0, {NumAttributes - 1}].");
        return label * NumAttributes + attribute;
    }

    /// <summary>The label and attribute of <paramref name="group"/> (the inverse of <see cref="GroupOf"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="group"/> is out of range.</exception>
    public (int Label, int Attribute) Decompose(int group)
    {
        CheckGroup(group, nameof(group));
        return (group / NumAttributes, group % NumAttributes);
    }

    /// <summary>The label of <paramref name="group"/>.</summary>
    public int LabelOf(int group) => Decompose(group).Label;

    /// <summary>A readable group name such as <c>(landbird, water)</c>.</summary>
    public string GroupName(int group)
    {
        var (y, a) = Decompose(group);
        return $"({ClassNames[y]}, {AttributeNames[a]})";
    }

    /// <summary>Throws when <paramref name="label"/> is not in [0, C).</summary>
    public void CheckLabel(int label, string paramName)
    {
        if ((uint)label >= (uint)NumClasses)
            throw new ArgumentOutOfRangeException(paramName, label, $"Label must be in [0, {NumClasses - 1}].");
    }

    /// <summary>Throws when <paramref name="group"/> is not in [0, C * A).</summary>
    public void CheckGroup(int group, string paramName)
    {
        if ((uint)group >= (uint)NumGroups)
            throw new ArgumentOutOfRangeException(paramName, group, $"Group id must be in [0, {NumGroups - 1}].");
    }

    /// <summary>Binary task with a binary attribute (four groups), the Waterbirds/CelebA shape.</summary>
    public static GroupScheme Binary(IReadOnlyList<string>? classNames = null, IReadOnlyList<string>? attributeNames = null)
        => new(2, 2, classNames, attributeNames);

    /// <inheritdoc />
    public bool Equals(GroupScheme? other)
        => other is not null && NumClasses == other.NumClasses && NumAttributes == other.NumAttributes
           && ClassNames.SequenceEqual(other.ClassNames) && AttributeNames.SequenceEqual(other.AttributeNames);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(NumClasses, NumAttributes);

    /// <summary>The structure with its names, e.g. "2 classes x 2 attributes (4 groups): classes [landbird, waterbird], attributes [land, water]".</summary>
    public override string ToString()
        => $"{NumClasses} classes x {NumAttributes} attributes ({NumGroups} groups): classes [{string.Join(", ", ClassNames)}], attributes [{string.Join(", ", AttributeNames)}]";
}
