using GroupRobust.Tests.TestSupport;
using System.Diagnostics;
using System.Globalization;
using GroupRobust.Distributed;

namespace GroupRobust.Tests.Distributed;

/// <summary>GroupRobust.Distributed on Open MPI: two ranks on loopback (mpirun -np 2 --oversubscribe), as CI runs them.</summary>
public class MpiTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string ChildDll() => RepositoryPaths.BuiltDll("tests/GroupRobust.Distributed.Child", "GroupRobust.Distributed.Child");

    private (int Code, string Output, TimeSpan Elapsed) Mpirun(params string[] args)
    {
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-np", "2", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none", "dotnet", ChildDll() }.Concat(args))
            start.ArgumentList.Add(a);
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";           // CI machines run as root
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("mpirun did not start (eng/install-prereqs.sh installs openmpi-bin).");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("mpirun did not finish in 90 seconds (a hang)");
        }
        string text = stdout.Result + stderr.Result;
        output.WriteLine(text);
        return (process.ExitCode, text, clock.Elapsed);
    }

    [Fact]
    public void Two_ranks_all_reduce_and_broadcast_float_double_and_long_buffers()
    {
        var (code, text, _) = Mpirun("allreduce");
        Assert.True(code == 0, text);
        foreach (var rank in new[] { 0, 1 })
            Assert.Contains($"rank {rank}/2: float 3 20 double 1.5 long 2199023255552 1 broadcast 42", text);
    }

    [Fact]
    public void Two_ranks_with_half_batches_train_the_parameters_one_process_with_whole_batches_trains()
    {
        var (code, text, _) = Mpirun("erm", "20");
        Assert.True(code == 0, text);
        var line = text.Split('\n').Single(l => l.Contains("max-diff"));
        var parts = line[line.IndexOf("steps", StringComparison.Ordinal)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double diff = double.Parse(parts[3], CultureInfo.InvariantCulture), replicas = double.Parse(parts[5], CultureInfo.InvariantCulture);
        Assert.Equal("20", parts[1]);
        Assert.True(diff < 1e-5, $"2 ranks x 16 rows vs 1 process x 32 rows after 20 SGD steps differ by {diff:E2} (float tolerance 1e-5)");
        Assert.Equal(0, replicas);   // the two replicas are bit-identical
    }

    [Fact]
    public void GroupDro_on_two_ranks_keeps_q_identical_and_equals_the_one_process_run()
    {
        var (code, text, _) = Mpirun("groupdro", "20");
        Assert.True(code == 0, text);
        var line = text.Split('\n').Single(l => l.Contains("groupdro param-diff"));
        var parts = line[line.IndexOf("groupdro param-diff", StringComparison.Ordinal)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double param = double.Parse(parts[2], CultureInfo.InvariantCulture), q = double.Parse(parts[4], CultureInfo.InvariantCulture), ranks = double.Parse(parts[6], CultureInfo.InvariantCulture);
        Assert.Equal(0, ranks);                                   // q is bit-identical on both ranks
        Assert.True(q < 1e-6, $"q differs from the one-process run's by {q:E2} (tolerance 1e-6: float32 loss sums in another order)");
        Assert.True(param < 1e-5, $"parameters differ from the one-process run's by {param:E2}");
    }

    [Fact]
    public void A_rank_that_dies_ends_the_job_with_a_clear_message_within_seconds()
    {
        var (code, text, elapsed) = Mpirun("early-exit");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("rank 0 passed the barrier", text);
        Assert.Contains("Exit code:    3", text);   // mpirun names the process that died and how
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"the job took {elapsed.TotalSeconds:F1} s to end");
    }

    [Fact]
    public void Shards_of_a_global_order_are_the_rows_one_process_would_take()
    {
        var order = Enumerable.Range(0, 10).Select(i => (long)(9 - i)).ToArray();
        var r0 = EpochSharding.Shards(order, 4, 0, 2).ToArray();
        var r1 = EpochSharding.Shards(order, 4, 1, 2).ToArray();
        Assert.Equal(3, r0.Length);
        Assert.Equal(3, r1.Length);                       // the same number of steps on every rank
        Assert.Equal(new long[] { 9, 8 }, r0[0]);
        Assert.Equal(new long[] { 7, 6 }, r1[0]);
        Assert.Equal(new long[] { 1 }, r0[2]);
        Assert.Equal(new long[] { 0 }, r1[2]);
        Assert.Equal(order, r0.Zip(r1, (a, b) => a.Concat(b)).SelectMany(x => x));   // together, the global order
        var three = Enumerable.Range(0, 3).Select(r => EpochSharding.Shards(order.Take(7), 6, r, 3).ToArray()).ToArray();
        Assert.Empty(three[2][1]);                          // a last batch of 1 row: two ranks take part with nothing
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochSharding.Shards(order, 5, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochSharding.Shards(order, 4, 2, 2));
    }
}
