using Microsoft.Extensions.Logging;

namespace GroupRobust.Study;

/// <summary>
/// Keeps every warning (and error) the library logs, with the seed and the part of the study that was running, so that
/// the report lists them beside the rows they concern: a console scrolls away, and a warning such as "phase II never
/// beat phase I" (event 144) is the reader's sign that a row's groups were not the minority on that seed.
/// </summary>
internal sealed class WarningRecorder : ILoggerProvider
{
    /// <summary>The scope of what phase I and the identifiers log before any row trains.</summary>
    public const string PhaseOneScope = "phase I and identification";

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

    /// <summary>Attributes what is logged from now on to <paramref name="scope"/> on <paramref name="seed"/>.</summary>
    public void Enter(int seed, string scope)
    {
        lock (_gate) _current = (seed, scope);
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
