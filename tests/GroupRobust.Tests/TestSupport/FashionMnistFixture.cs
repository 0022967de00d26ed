using GroupRobust.Data.FashionMnist;

namespace GroupRobust.Tests.TestSupport;

/// <summary>Loads the real Fashion-MNIST files once per test run (installed by eng/install-prereqs.sh).</summary>
internal static class FashionMnistFixture
{
    private static readonly Lazy<FashionMnistFiles> Files = new(() => FashionMnistFiles.Load());

    public static FashionMnistFiles Load() => Files.Value;
}
