namespace GroupRobust.Text.Data;

/// <summary>One text of a dataset: the text (and its second text, for sentence-pair tasks), its label and its attribute.</summary>
/// <param name="Text">The text (sentence A).</param>
/// <param name="Label">The class, in [0, classes).</param>
/// <param name="Attribute">The attribute value (the spurious feature), in [0, attributes).</param>
/// <param name="Pair">The second text (sentence B, e.g. MultiNLI's hypothesis), or null.</param>
public sealed record LabeledText(string Text, int Label, int Attribute, string? Pair = null);
