using Microsoft.Extensions.Logging;

namespace GroupRobust.Study;

/// <summary>
/// Keeps every warning (and error) the library logs, with the seed and the part of the study that was running, so that
/// the report lists them beside the rows they concern: a console scrolls away, and a warning such as "phase II never
/// beat phase I" (event 144) is the reader's sign that a row's groups were not the minority on that seed.
/// </summary>
internal sealed class WarningRecorder : ILoggerProvider
{
    /// <summary>The scope of what the data and phase I log before any row trains (an identifier's is "identification: NAME").</summary>
    public const string PhaseOneScope = "phase I";

    private readonly object _gate = new();
    private readonly List<WarningRecord> _records = [];
    private (int Seed, string Scope) _current = (0, PhaseOneScope);

    /// <summary>The warnings so far, in the order they were logged.</summary>
    public IReadOnlyList<WarningRecord> Records
    {
        get
        {
            lock (_gate) return _records.ToList();
        }
    }

    /// <summary>The seed and scope what is logged now is attributed to.</summary>
    public (int Seed, string Scope) Current
    {
        get
        {
            lock (_gate) return _current;
        }
    }

    /// <summary>Attributes what is logged from now on to <paramref name="scope"/> on <paramref name="seed"/>.</summary>
    public void Enter(int seed, string scope)
    {
        lock (_gate) _current = (seed, scope);
    }

    /// <summary>How many warnings were recorded so far: a mark for <see cref="DiscardSince"/>.</summary>
    public int Mark()
    {
        lock (_gate) return _records.Count;
    }

    /// <summary>Forgets what was recorded since <paramref name="mark"/>: a row trained again from the start logs its warnings again.</summary>
    public void DiscardSince(int mark)
    {
        lock (_gate) _records.RemoveRange(mark, _records.Count - mark);
    }

    /// <summary>
    /// Records again, under <paramref name="to"/>, what <paramref name="from"/> logged on <paramref name="seed"/> and
    /// <paramref name="keep"/> accepts: a row that reuses another row's run (the no-labels JM1 row at the main JM1 run's T).
    /// </summary>
    public void Copy(int seed, string from, string to, Func<WarningRecord, bool> keep)
    {
        lock (_gate) _records.AddRange(_records.Where(w => w.Seed == seed && w.Scope == from && keep(w)).Select(w => w with { Scope = to }).ToList());
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string category, EventId id, string message)
    {
        lock (_gate) _records.Add(new WarningRecord(_current.Seed, _current.Scope, id.Id, category, message));
    }

    private sealed class Logger(WarningRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Warning and < LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Add(category, eventId, formatter(state, exception));
        }
    }
}
