using GroupRobust.Tests.Identification;
using Microsoft.Extensions.Logging;

namespace GroupRobust.Tests.TestSupport;

/// <summary>A logger factory whose every category writes to one <see cref="ListLogger"/>.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public ListLogger Logger { get; } = new();

    public ILogger CreateLogger(string categoryName) => Logger;

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }
}
