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
