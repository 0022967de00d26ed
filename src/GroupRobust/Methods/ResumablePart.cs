namespace GroupRobust.Methods;

/// <summary>An <see cref="IResumable"/> made of two functions, for state a method keeps in its own fields.</summary>
internal sealed class ResumablePart(Action<IDictionary<string, double[]>, string> write, Func<IReadOnlyDictionary<string, double[]>, string, Action> read) : IResumable
{
    public void WriteState(IDictionary<string, double[]> values, string prefix) => write(values, prefix);

    public Action ReadState(IReadOnlyDictionary<string, double[]> values, string prefix) => read(values, prefix);
}
