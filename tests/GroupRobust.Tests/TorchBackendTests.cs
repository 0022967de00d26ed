namespace GroupRobust.Tests;

public class TorchBackendTests
{
    [Fact]
    public void EnsureAvailable_succeeds_with_the_cpu_backend()
    {
        TorchBackend.EnsureAvailable();
        TorchBackend.EnsureAvailable();
    }

    [Fact]
    public void Missing_backend_package_is_named()
    {
        var inner = new NotSupportedException("This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.0.");
        var ex = TorchBackend.Diagnose(new TypeInitializationException("TorchSharp.torch", inner), null);
        Assert.Equal(BackendFailure.NoBackendPackage, ex.Reason);
        Assert.Contains("TorchSharp-cpu", ex.Message);
    }

    private static string RealMessage(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestSupport", "BackendMessages", name));

    [Theory]
    [InlineData("no-reference.txt")]    // TorchSharp 0.107 with no NuGet packages folder
    [InlineData("not-restored.txt")]    // TorchSharp 0.107 with a packages folder that lacks libtorch-cpu
    public void The_real_messages_of_TorchSharp_0_107_for_a_missing_backend_are_recognised(string file)
    {
        var inner = new NotSupportedException(RealMessage(file));
        var ex = TorchBackend.Diagnose(new TypeInitializationException("TorchSharp.torch", inner), null);
        Assert.Equal(BackendFailure.NoBackendPackage, ex.Reason);
        Assert.Contains("dotnet add package TorchSharp-cpu --version 0.107.0", ex.Message);
        Assert.DoesNotContain("Trace from LoadNativeBackend", ex.Message);
    }

    [Fact]
    public void A_cuda_request_on_a_cpu_only_backend_gets_one_actionable_sentence()
    {
        // the real message TorchSharp 0.107's CPU backend gives for torch.zeros(1, device: CUDA)
        var ex = TorchBackend.DiagnoseDevice("cuda", new InvalidOperationException(RealMessage("cuda-on-cpu-backend.txt")));
        Assert.Equal(BackendFailure.DeviceUnavailable, ex.Reason);
        Assert.Contains("no CUDA support (TorchSharp-cpu)", ex.Message);
        Assert.Contains("LD_LIBRARY_PATH", ex.Message);
        Assert.DoesNotContain("Trace from LoadNativeBackend", ex.Message);
        // and on this CPU-only test machine the public check throws exactly that
        if (!TorchSharp.torch.cuda.is_available())
            Assert.Equal(BackendFailure.DeviceUnavailable, Assert.Throws<TorchBackendUnavailableException>(() => TorchBackend.EnsureDevice("cuda")).Reason);
        TorchBackend.EnsureDevice("cpu");
        Assert.Throws<ArgumentException>(() => TorchBackend.EnsureDevice("tpu7"));
    }

    [Fact]
    public void Old_libstdcxx_is_named_with_the_missing_version_and_the_fix()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0GLIBCXX_3.4.3\0"));
            var ex = TorchBackend.Diagnose(new NotSupportedException("Failed to load native component libLibTorchSharp.so"), path);
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal(BackendFailure.LibStdCxxTooOld, ex.Reason);
                Assert.Contains("GLIBCXX_3.4.32", ex.Message);
                Assert.Contains("install-prereqs.sh", ex.Message);
            }
            else
            {
                Assert.Equal(BackendFailure.Other, ex.Reason);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Version_match_needs_an_exact_tag()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes("xx\0GLIBCXX_3.4.321\0GLIBCXX_3.4.32"));
            Assert.True(TorchBackend.LibraryExportsVersion(path, "GLIBCXX_3.4.32"));
            File.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes("xx\0GLIBCXX_3.4.321\0"));
            Assert.False(TorchBackend.LibraryExportsVersion(path, "GLIBCXX_3.4.32"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void This_machine_has_the_required_libstdcxx()
    {
        var lib = TorchBackend.FindLibStdCxx();
        if (lib is null) return; // not Linux
        Assert.True(TorchBackend.LibraryExportsVersion(lib, TorchBackend.RequiredGlibcxx));
    }
}
