using System.Runtime.InteropServices;
using TorchSharp;

namespace GroupRobust;

/// <summary>
/// Checks that a usable TorchSharp native backend is present and turns the common failures into
/// one actionable message each, instead of TorchSharp's long native-load trace.
/// </summary>
/// <remarks>
/// Call <see cref="EnsureAvailable"/> once at the start of an application or test run. The three
/// failures it recognises are: no backend package referenced (<c>TorchSharp-cpu</c>,
/// <c>TorchSharp-cuda-linux</c> or <c>TorchSharp-cuda-windows</c>), a system libstdc++ older than
/// the one TorchSharp 0.107's <c>libLibTorchSharp.so</c> needs (<see cref="RequiredGlibcxx"/>), and a
/// 32-bit process.
/// </remarks>
public static class TorchBackend
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107's native library needs on Linux.</summary>
    internal const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly object Gate = new();
    private static bool _verified;

    /// <summary>
    /// Verifies that TorchSharp can create a tensor on the CPU. Cheap after the first successful call.
    /// </summary>
    /// <exception cref="TorchBackendUnavailableException">
    /// The backend cannot be loaded; <see cref="TorchBackendUnavailableException.Reason"/> says why and
    /// the message says how to fix it.
    /// </exception>
    public static void EnsureAvailable()
    {
        if (_verified) return;
        lock (Gate)
        {
            if (_verified) return;
            if (CheckProcess(Environment.Is64BitProcess) is { } notSupported) throw notSupported;

            Exception? failure = null;
            try
            {
                using var probe = torch.zeros(1);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            if (failure is null)
            {
                _verified = true;
                return;
            }

            throw Diagnose(failure, FindLibStdCxx());
        }
    }

    /// <summary>
    /// Verifies that tensors can be created on <paramref name="device"/> ("cpu", "cuda", "cuda:1", ...), after
    /// <see cref="EnsureAvailable"/>. Use it before a run that was asked for a GPU, so that a CPU-only backend gives one
    /// actionable sentence instead of TorchSharp's load trace.
    /// </summary>
    /// <param name="device">A TorchSharp device string.</param>
    /// <exception cref="TorchBackendUnavailableException">The backend cannot use the device (<see cref="BackendFailure.DeviceUnavailable"/>), or the backend does not load at all.</exception>
    /// <exception cref="ArgumentException">The text is not a device name.</exception>
    public static void EnsureDevice(string device)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        EnsureAvailable();
        torch.Device parsed;
        try
        {
            parsed = new torch.Device(device);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            throw new ArgumentException($"'{device}' is not a TorchSharp device name (cpu, cuda, cuda:1, ...).", nameof(device), ex);
        }
        if (parsed.type == DeviceType.CPU) return;
        Exception? failure = null;
        try
        {
            using var probe = torch.zeros(1, device: parsed);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        if (failure is not null) throw DiagnoseDevice(device, failure);
    }

    /// <summary>Classifies a failure to create a tensor on a requested accelerator.</summary>
    internal static TorchBackendUnavailableException DiagnoseDevice(string device, Exception failure)
    {
        var text = Flatten(failure);
        string why = text.Contains("did not initialise on the current machine", StringComparison.OrdinalIgnoreCase)
            ? "the TorchSharp backend this application references has no CUDA support (TorchSharp-cpu), or no GPU is visible"
            : "TorchSharp could not use it: " + FirstLine(failure);
        return new TorchBackendUnavailableException(BackendFailure.DeviceUnavailable,
            $"Device '{device}' was requested, but {why}. Reference TorchSharp-cuda-linux (or -windows) 0.107.0 instead of TorchSharp-cpu; or, on " +
            "Linux with PyTorch installed, run with LD_LIBRARY_PATH pointing at PyTorch's torch/lib so TorchSharp's glue loads its CUDA libtorch " +
            "(docs/getting-started.md, 'GPUs'); or run on the CPU.", failure);
    }

    /// <summary>The failure of a 32-bit process (TorchSharp's natives are 64-bit only), or null for a 64-bit one.</summary>
    internal static TorchBackendUnavailableException? CheckProcess(bool is64Bit) => is64Bit ? null
        : new TorchBackendUnavailableException(BackendFailure.Not64BitProcess,
            "TorchSharp runs only in 64-bit processes, but this process is 32-bit. " +
            "Build and run the application as a 64-bit process (x64 or arm64; no Prefer32Bit).");

    /// <summary>
    /// Classifies a TorchSharp initialisation failure. Exposed for tests and for hosts that catch the
    /// exception themselves.
    /// </summary>
    /// <param name="failure">The exception TorchSharp threw when the first tensor was created.</param>
    /// <param name="libStdCxxPath">Path of the system libstdc++ to inspect on Linux, or null when none was found.</param>
    /// <returns>An exception whose message names the cause and the fix.</returns>
    internal static TorchBackendUnavailableException Diagnose(Exception failure, string? libStdCxxPath)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var text = Flatten(failure);
        if (text.Contains("doesn't contain a reference to libtorch", StringComparison.OrdinalIgnoreCase)
            || text.Contains("does not contain a reference to libtorch", StringComparison.OrdinalIgnoreCase))
        {
            return new TorchBackendUnavailableException(BackendFailure.NoBackendPackage,
                "No TorchSharp native backend is referenced. GroupRobust references only the managed TorchSharp package; " +
                "the application must add one backend: 'dotnet add package TorchSharp-cpu --version 0.107.0' " +
                "(or TorchSharp-cuda-linux / TorchSharp-cuda-windows for NVIDIA GPUs).", failure);
        }

        // TorchSharp 0.107 when the NuGet folder exists but lacks the backend's libtorch package:
        // "The libtorch-cpu-linux-x64 package version 2.10.0.0 is not restored on this system. ..."
        var notRestored = System.Text.RegularExpressions.Regex.Match(text, @"The (\S+) package version (\S+) is not restored on this system");
        if (notRestored.Success)
        {
            return new TorchBackendUnavailableException(BackendFailure.NoBackendPackage,
                $"TorchSharp found no native backend: its libtorch package ({notRestored.Groups[1].Value} {notRestored.Groups[2].Value.TrimEnd('.')}) is " +
                "not restored for this application. GroupRobust references only the managed TorchSharp package; the application must reference the " +
                "backend package that brings it: 'dotnet add package TorchSharp-cpu --version 0.107.0' for libtorch-cpu, TorchSharp-cuda-linux / " +
                "TorchSharp-cuda-windows 0.107.0 for libtorch-cuda (then restore again).", failure);
        }

        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && libStdCxxPath is not null
            && !LibraryExportsVersion(libStdCxxPath, RequiredGlibcxx))
        {
            return new TorchBackendUnavailableException(BackendFailure.LibStdCxxTooOld,
                $"The system libstdc++ ({libStdCxxPath}) lacks {RequiredGlibcxx}, which TorchSharp 0.107's libLibTorchSharp.so needs " +
                "(GCC 13 or newer runtime: Ubuntu 24.04+, Debian 13+, Fedora 39+). On Debian 12 run the repository's " +
                "'eng/install-prereqs.sh' as root, or add the Debian 13 (trixie) suite with a low pin priority and run " +
                "'apt-get install -t trixie libstdc++6'.", failure);
        }

        return new TorchBackendUnavailableException(BackendFailure.Other,
            "TorchSharp's native backend failed to load: " + FirstLine(failure) +
            " Check that exactly one backend package (TorchSharp-cpu or a CUDA one) of version 0.107.0 is referenced.", failure);
    }

    /// <summary>True when the shared library at <paramref name="path"/> contains the symbol version string <paramref name="version"/>.</summary>
    /// <param name="path">A shared library file, e.g. /usr/lib/x86_64-linux-gnu/libstdc++.so.6.</param>
    /// <param name="version">A version tag such as <c>GLIBCXX_3.4.32</c>.</param>
    internal static bool LibraryExportsVersion(string path, string version)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(version);
        var bytes = File.ReadAllBytes(path);
        var needle = System.Text.Encoding.ASCII.GetBytes(version);
        var span = bytes.AsSpan();
        // A match must end at a NUL so that 3.4.3 does not match 3.4.32.
        int offset = 0;
        while (true)
        {
            int at = span[offset..].IndexOf(needle);
            if (at < 0) return false;
            int end = offset + at + needle.Length;
            if (end >= span.Length || span[end] == 0) return true;
            offset = end;
        }
    }

    /// <summary>The system libstdc++ that the dynamic loader would pick on Linux, or null when none is found.</summary>
    internal static string? FindLibStdCxx()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return null;
        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    private static string Flatten(Exception ex)
    {
        var sb = new System.Text.StringBuilder();
        for (var e = ex; e is not null; e = e.InnerException) sb.AppendLine(e.Message);
        return sb.ToString();
    }

    private static string FirstLine(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null && e is TypeInitializationException) e = e.InnerException;
        var msg = e.Message;
        int nl = msg.IndexOf('\n');
        return (nl < 0 ? msg : msg[..nl]).Trim();
    }
}
