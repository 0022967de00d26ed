using System.Runtime.CompilerServices;

namespace GroupRobust.Tests.TestSupport;

internal static class BackendInitializer
{
    [ModuleInitializer]
    internal static void Initialize() => TorchBackend.EnsureAvailable();
}
