namespace GroupRobust;

/// <summary>Why the TorchSharp native backend could not be used (see <see cref="TorchBackend.EnsureAvailable"/>).</summary>
public enum BackendFailure
{
    /// <summary>The application references no native backend package (TorchSharp-cpu or a CUDA one).</summary>
    NoBackendPackage,

    /// <summary>The system libstdc++ lacks <see cref="TorchBackend.RequiredGlibcxx"/>.</summary>
    LibStdCxxTooOld,

    /// <summary>The process is 32-bit; TorchSharp is 64-bit only.</summary>
    Not64BitProcess,

    /// <summary>Another native load failure; the inner exception has TorchSharp's own message.</summary>
    Other,
    /// <summary>A requested accelerator (for example "cuda") cannot be used by the loaded backend (<see cref="TorchBackend.EnsureDevice"/>).</summary>
    DeviceUnavailable,
}
