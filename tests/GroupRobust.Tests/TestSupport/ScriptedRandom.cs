namespace GroupRobust.Tests.TestSupport;

/// <summary>
/// A generator that replays a reference transcription's draws (eng/make-reference-fixtures.py): each <c>Next(max)</c>
/// must ask for the range the script drew from (a pool of the same size) and returns the script's position in it; each
/// <c>NextDouble()</c> returns the script's next uniform. Any other call, a range that differs, or a draw beyond the
/// script fails the test, so a mixer that draws from other pools, in another order or more often cannot pass.
/// </summary>
internal sealed class ScriptedRandom : Random
{
    private readonly Queue<(int Range, int Value)> _positions = new();
    private readonly Queue<double> _uniforms = new();
    private readonly string _what;

    /// <param name="what">What the draws are, for the messages.</param>
    public ScriptedRandom(string what) => _what = what;

    /// <summary>Queues a draw of <paramref name="value"/> from [0, <paramref name="range"/>).</summary>
    public void Position(int range, int value) => _positions.Enqueue((range, value));

    /// <summary>Queues the draws of a fixture's list of [range, position] pairs.</summary>
    public void Positions(System.Text.Json.JsonElement pairs)
    {
        foreach (var pair in pairs.EnumerateArray()) Position(pair[0].GetInt32(), pair[1].GetInt32());
    }

    /// <summary>Queues a uniform in [0, 1).</summary>
    public void Uniform(double value) => _uniforms.Enqueue(value);

    /// <summary>Asserts that every queued draw was made.</summary>
    public void AssertConsumed() => Assert.True(_positions.Count == 0 && _uniforms.Count == 0,
        $"{_what}: {_positions.Count} positions and {_uniforms.Count} uniforms of the script were not drawn.");

    public override int Next(int maxValue)
    {
        Assert.True(_positions.Count > 0, $"{_what}: a draw from [0, {maxValue}) beyond the script.");
        var (range, value) = _positions.Dequeue();
        Assert.True(range == maxValue, $"{_what}: the script drew from a pool of {range}, the library from one of {maxValue}.");
        return value;
    }

    public override double NextDouble()
    {
        Assert.True(_uniforms.Count > 0, $"{_what}: a uniform beyond the script.");
        return _uniforms.Dequeue();
    }

    public override int Next() => throw new InvalidOperationException($"{_what}: Next() is not scripted.");
    public override int Next(int minValue, int maxValue) => throw new InvalidOperationException($"{_what}: Next(min, max) is not scripted.");
    public override long NextInt64() => throw new InvalidOperationException($"{_what}: NextInt64() is not scripted.");
    public override long NextInt64(long maxValue) => throw new InvalidOperationException($"{_what}: NextInt64(max) is not scripted.");
    public override long NextInt64(long minValue, long maxValue) => throw new InvalidOperationException($"{_what}: NextInt64(min, max) is not scripted.");
    public override float NextSingle() => throw new InvalidOperationException($"{_what}: NextSingle() is not scripted.");
    public override void NextBytes(byte[] buffer) => throw new InvalidOperationException($"{_what}: NextBytes is not scripted.");
    public override void NextBytes(Span<byte> buffer) => throw new InvalidOperationException($"{_what}: NextBytes is not scripted.");
    protected override double Sample() => throw new InvalidOperationException($"{_what}: Sample() is not scripted.");
}
