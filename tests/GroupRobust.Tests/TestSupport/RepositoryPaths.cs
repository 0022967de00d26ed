namespace GroupRobust.Tests.TestSupport;

/// <summary>Where the tests find the repository and the other projects they run as child processes.</summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding GroupRobust.sln, found above the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The built assembly of a project the tests reference for its build only (for example
    /// <c>tests/GroupRobust.FaultInjection</c>), in the tests' configuration and target framework.
    /// </summary>
    /// <param name="projectFolder">The project's folder relative to <see cref="Root"/>.</param>
    /// <param name="assembly">The assembly's name without ".dll".</param>
    public static string BuiltDll(string projectFolder, string assembly)
    {
        // .../tests/GroupRobust.Tests/bin/<Configuration>/<tfm>/ -> <Root>/<projectFolder>/bin/<Configuration>/<tfm>/
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string tfm = here.Name, configuration = here.Parent!.Name;
        var dll = Path.Combine(Root, projectFolder, "bin", configuration, tfm, assembly + ".dll");
        Assert.True(File.Exists(dll), $"{dll} was not built (its project is a build-only reference of the tests).");
        return dll;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GroupRobust.sln"))) return dir.FullName;
        throw new InvalidOperationException($"GroupRobust.sln not found above {AppContext.BaseDirectory}.");
    }
}
