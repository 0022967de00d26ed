using System.Diagnostics;
using GroupRobust.Checkpoints;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Checkpoints;

/// <summary>A child process saving checkpoints is killed again and again, most times mid-save: the file always loads, and temporary files never accumulate.</summary>
public class FaultInjectionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string ChildDll() => RepositoryPaths.BuiltDll("tests/GroupRobust.FaultInjection", "GroupRobust.FaultInjection");

    [Fact]
    public void Killing_a_writer_mid_save_never_loses_the_previous_checkpoint_and_leaves_no_orphans_behind()
    {
        using var dir = new TempDirectory();
        var path = dir.File("run.ckpt");
        var dll = ChildDll();
        var rng = new Random(7);
        int lastEpoch = 0, orphansSeen = 0, killedMidSave = 0;
        for (int kill = 0; kill < 6; kill++)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add(path);
            using var child = Process.Start(start)!;
            try
            {
                var first = child.StandardOutput.ReadLine(); // blocks until the first save of this child is complete
                Assert.StartsWith("saved", first);
                Thread.Sleep(rng.Next(0, 80));
            }
            finally
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
            }
            // whatever moment the kill hit, the target is a complete, verified checkpoint
            var state = TrainingCheckpoint.ReadState(path);
            Assert.True(state.Epoch >= 1, $"kill {kill}: epoch {state.Epoch}");
            lastEpoch = state.Epoch;
            int orphans = Directory.GetFiles(dir.Path, ".run.ckpt.tmp-*").Length;
            if (orphans > 0) killedMidSave++;
            orphansSeen = Math.Max(orphansSeen, orphans);
        }
        output.WriteLine($"6 kills, {killedMidSave} of them left a temporary file (killed mid-save); last complete epoch {lastEpoch}");
        // the next save of the target removes what the killed writers left
        using var model = Methods.MethodFactory.Model(0);
        TrainingCheckpoint.Save(path, model, null, new CheckpointState { Epoch = lastEpoch + 1 });
        Assert.Empty(Directory.GetFiles(dir.Path, ".run.ckpt.tmp-*"));
        Assert.Equal(lastEpoch + 1, TrainingCheckpoint.ReadState(path).Epoch);
        Assert.True(orphansSeen <= 6, $"{orphansSeen} orphans at once: each killed writer leaves at most one, and each new writer removes the older ones");
    }
}
