namespace GroupRobust;

/// <summary>Thrown by <see cref="TorchBackend.EnsureAvailable"/> when TorchSharp's native backend cannot be used.</summary>
public sealed class TorchBackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">The recognised cause.</param>
    /// <param name="message">The actionable message.</param>
    /// <param name="inner">TorchSharp's original exception, if any.</param>
    public TorchBackendUnavailableException(BackendFailure reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    /// <summary>The recognised cause.</summary>
    public BackendFailure Reason { get; }
}
