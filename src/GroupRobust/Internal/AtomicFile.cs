using System.Diagnostics;
using System.Globalization;

namespace GroupRobust.Internal;

/// <summary>
/// Writes a file so that a crash mid-write never leaves a half-written target: the content goes to a temporary file in
/// the same folder named after the target and the writing process, is flushed to disk, and is then renamed over the
/// target; on failure the temporary file is deleted and the previous target is untouched. A process killed mid-write
/// (kill -9, power loss) cannot delete its temporary file, so every write first removes the temporary files of the same
/// target left by processes that no longer run: orphans never accumulate.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var prefix = $".{Path.GetFileName(full)}.tmp-";
        RemoveOrphans(folder, prefix);
        var tmp = Path.Combine(folder, $"{prefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>The temporary files of this target whose writing process is gone (their name carries its id).</summary>
    internal static IReadOnlyList<string> Orphans(string folder, string prefix)
    {
        if (!Directory.Exists(folder)) return [];
        var orphans = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            var rest = Path.GetFileName(file)[prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid != Environment.ProcessId && !IsRunning(pid)) orphans.Add(file);
        }
        return orphans;
    }

    private static void RemoveOrphans(string folder, string prefix)
    {
        foreach (var file in Orphans(folder, prefix))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // another writer may be removing it at the same time; the next save tries again
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
