using GroupRobust.Tests.TestSupport;
using System.Diagnostics;
using System.Globalization;
using GroupRobust.Distributed;

namespace GroupRobust.Tests.Distributed;

/// <summary>GroupRobust.Distributed on Open MPI: two ranks on loopback (mpirun -np 2 --oversubscribe), as CI runs them.</summary>
public class MpiTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string ChildDll() => RepositoryPaths.BuiltDll("tests/GroupRobust.Distributed.Child", "GroupRobust.Distributed.Child");

    private (int Code, string Output, TimeSpan Elapsed) Mpirun(params string[] args) => MpirunDll(ChildDll(), args);

    private (int Code, string Output, TimeSpan Elapsed) MpirunDll(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-np", "2", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none", "dotnet", dll }.Concat(args))
            start.ArgumentList.Add(a);
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";           // CI machines run as root
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("mpirun did not start (eng/install-prereqs.sh installs openmpi-bin).");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(180)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("mpirun did not finish in 180 seconds (a hang)");
        }
        // without the terminal escape sequences mpirun's children print
        string text = System.Text.RegularExpressions.Regex.Replace(stdout.Result + stderr.Result, "\x1b(\\[[^a-zA-Z]*[a-zA-Z]|[=>])", "");
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

    private static Dictionary<string, string> Fields(string text, string marker)
    {
        var line = text.Split('\n').Single(l => l.Contains(marker, StringComparison.Ordinal));
        // the "name value" pairs after the marker
        var parts = line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var fields = new Dictionary<string, string>();
        for (int i = 0; i + 1 < parts.Length; i += 2) fields[parts[i]] = parts[i + 1];
        return fields;
    }

    [Theory]
    [InlineData("erm")]
    [InlineData("jtt")]
    [InlineData("jm1")]
    [InlineData("jm1:hidden")]
    [InlineData("jm1:random-inbatch")]
    [InlineData("jm1:random-paired")]
    [InlineData("groupdro")]
    public void Two_ranks_with_half_batches_train_what_one_process_with_whole_batches_trains(string kind)
    {
        // 2 epochs of 321 rows in global batches of 32 (16 rows per rank; in the last batch of 1 row rank 1's part is empty)
        var (code, text, _) = Mpirun("method", kind);
        Assert.True(code == 0, text);
        var f = Fields(text, "method " + kind + " ");
        double diff = double.Parse(f["param-diff"], CultureInfo.InvariantCulture);
        Assert.True(diff < 1e-5, $"{kind}: 2 ranks x 16 rows vs 1 process x 32 rows after 2 epochs differ by {diff:E2} (float tolerance 1e-5: the same sums in another order)");
        Assert.Equal(0, double.Parse(f["replica-diff"], CultureInfo.InvariantCulture));   // the two replicas are bit-identical
        Assert.Equal("True", f["same-mixing"]);                                            // JM1: the global batch's draws and statistics
        double q = double.Parse(f["q-diff"], CultureInfo.InvariantCulture);
        Assert.True(q < 1e-6, $"GroupDRO's q differs from the one-process run's by {q:E2} (tolerance 1e-6)");
        // ReplicaCheck.Verify in the child has checked that the methods' generators and statistics (GroupDRO: q) are bit-identical on both ranks
    }

    [Fact]
    public void Sharded_identification_and_evaluation_equal_the_one_process_results_exactly()
    {
        var (code, text, _) = Mpirun("identify");
        Assert.True(code == 0, text);
        foreach (var rank in new[] { 0, 1 })
        {
            foreach (var name in new[] { "misclassification", "loss-magnitude", "eiil" })
                Assert.Contains($"rank {rank} identify {name} same True", text);
            foreach (var split in new[] { "validation", "test", "inferred-groups" })
                Assert.Contains($"rank {rank} evaluate {split} same True", text);   // the whole result's JSON, bootstrap intervals included
        }
    }

    [Fact]
    public void A_rank_0_checkpoint_loaded_by_every_rank_resumes_the_run_exactly()
    {
        using var dir = new TempDirectory();
        var (code, text, _) = Mpirun("checkpoint", dir.Path);
        Assert.True(code == 0, text);
        foreach (var rank in new[] { 0, 1 })
        {
            var f = Fields(text, $"rank {rank} checkpoint ");
            Assert.Equal("True", f["written"]);
            Assert.Equal(0, double.Parse(f["resumed-diff"], CultureInfo.InvariantCulture));   // bit-identical to the uninterrupted run
            Assert.Equal(0, double.Parse(f["replica-diff"], CultureInfo.InvariantCulture));
            Assert.Contains($"rank {rank} missing-file FileNotFoundException", text);          // every rank reports, none hangs
            // only rank 1 cannot apply the file: it reports its own error, rank 0 names rank 1, and neither has changed
            Assert.Contains($"rank {rank} failed-load {(rank == 1 ? "FormatException" : "IOException")} unchanged True", text);
        }
        Assert.Equal(["job.ckpt"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));    // no temporary file left behind
    }

    [Fact]
    public void BatchNorm_statistics_stay_identical_on_every_rank_so_the_job_can_save()
    {
        using var dir = new TempDirectory();
        var (code, text, _) = Mpirun("batchnorm", dir.Path);
        Assert.True(code == 0, text);
        // 2 epochs of 11 global batches; rank 1's empty part of the last one runs no forward, yet the counter is rank 0's
        foreach (var rank in new[] { 0, 1 })
            Assert.Contains($"rank {rank} batchnorm replicas identical, saved; batches tracked 22, running mean moved True", text);
    }

    [Fact]
    public void Ranks_with_different_settings_stop_with_one_message_naming_the_setting_and_the_values()
    {
        var (code, text, elapsed) = Mpirun("mismatch");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("passed the check", text);
        Assert.Contains("disagree on 'globalBatch': rank 0 has 32, rank 1 has 64", text);
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the job took {elapsed.TotalSeconds:F1} s to end (a hang: it takes seconds, also under load)");
    }

    [Fact]
    public void Ranks_with_different_models_stop_before_exchanging_buffers()
    {
        var (code, text, _) = Mpirun("mismatch-model");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("passed the broadcast", text);
        Assert.Contains("rank 0's has 4 parameters and buffers (82 numbers), rank 1's has 4 (42 numbers)", text);
    }

    [Fact]
    public void Ranks_whose_models_differ_in_size_stop_with_a_message_before_averaging_gradients()
    {
        var (code, text, elapsed) = Mpirun("mismatch-layout");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("passed the averaging", text);
        Assert.Contains("rank 1 has parameter 'lin1.weight' float32[8, 2] where rank 0 has float32[16, 2]", text);   // not MPI's own error
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the job took {elapsed.TotalSeconds:F1} s to end (a hang: it takes seconds, also under load)");
    }

    [Fact]
    public void An_exception_on_one_rank_ends_the_job_with_its_message_within_seconds()
    {
        var (code, text, elapsed) = Mpirun("throw");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("rank 0 passed the barrier", text);
        Assert.Contains("rank 1 of 2 failed; ending the job (MPI_Abort). System.InvalidOperationException: bad data on rank 1", text);
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the job took {elapsed.TotalSeconds:F1} s to end (a hang: it takes seconds, also under load)");
    }

    [Fact]
    public void A_rank_that_dies_ends_the_job_with_a_clear_message_within_seconds()
    {
        var (code, text, elapsed) = Mpirun("early-exit");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("rank 0 passed the barrier", text);
        Assert.Contains("Exit code:    3", text);   // mpirun names the process that died and how
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the job took {elapsed.TotalSeconds:F1} s to end (a hang: it takes seconds, also under load)");
    }

    [Fact]
    public void The_data_parallel_sample_runs_jm1_end_to_end_and_a_rerun_resumes_it_exactly()
    {
        // samples/GroupRobust.DataParallel on Spurious Fashion-MNIST (1,000 training images): 3 epochs at once, and 2
        // epochs then a rerun that resumes from the rank-0 checkpoint for the third
        string sample = RepositoryPaths.BuiltDll("samples/GroupRobust.DataParallel", "GroupRobust.DataParallel");
        string[] Args(string dir, int epochs) => ["--train", "1000", "--phase1", "1", "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--batch", "64", "--dir", dir];
        using var once = new TempDirectory();
        using var twice = new TempDirectory();
        var whole = MpirunDll(sample, Args(once.Path, 3));
        Assert.True(whole.Code == 0, whole.Output);
        var first = MpirunDll(sample, Args(twice.Path, 2));
        Assert.True(first.Code == 0, first.Output);
        var resumed = MpirunDll(sample, Args(twice.Path, 3));
        Assert.True(resumed.Code == 0, resumed.Output);
        Assert.Contains("resumed after epoch 2", resumed.Output);
        static string[] Lines(string text, string prefix) => text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        // the third epoch and the test table of the resumed run are the uninterrupted run's, number for number
        Assert.Equal(Lines(whole.Output, "JM1 (input) epoch 3"), Lines(resumed.Output, "JM1 (input) epoch 3"));
        Assert.NotEmpty(Lines(whole.Output, "JM1 (input) epoch 3"));
        var table = Lines(whole.Output, "|").Concat(Lines(whole.Output, "- ")).ToArray();
        Assert.Contains(table, l => l.StartsWith("- worst-group accuracy", StringComparison.Ordinal));
        Assert.Equal(table, Lines(resumed.Output, "|").Concat(Lines(resumed.Output, "- ")));
        Assert.Contains("labels: none for training, validation groups for selection", whole.Output);
    }

    [Fact]
    public void Shards_of_a_global_order_are_the_rows_one_process_would_take()
    {
        var order = Enumerable.Range(0, 10).Select(i => (long)(9 - i)).ToArray();
        var r0 = EpochSharding.Shards(order, 4, 0, 2).ToArray();
        var r1 = EpochSharding.Shards(order, 4, 1, 2).ToArray();
        Assert.Equal(3, r0.Length);
        Assert.Equal(3, r1.Length);                       // the same number of steps on every rank
        Assert.Equal(new long[] { 9, 8 }, r0[0].LocalIndices.ToArray());
        Assert.Equal(new long[] { 7, 6 }, r1[0].LocalIndices.ToArray());
        Assert.Equal(new long[] { 9, 8, 7, 6 }, r1[0].GlobalIndices);   // every part knows its global batch
        Assert.Equal(new long[] { 1 }, r0[2].LocalIndices.ToArray());
        Assert.Equal(new long[] { 0 }, r1[2].LocalIndices.ToArray());
        Assert.Equal(order, r0.Zip(r1, (a, b) => a.LocalIndices.ToArray().Concat(b.LocalIndices.ToArray())).SelectMany(x => x));   // together, the global order
        var three = Enumerable.Range(0, 3).Select(r => EpochSharding.Shards(order.Take(7), 6, r, 3).ToArray()).ToArray();
        Assert.Equal(0, three[2][1].Length);                // a last batch of 1 row: two ranks take part with nothing
        Assert.Equal(1, three[2][1].Start);
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochSharding.Shards(order, 5, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochSharding.Shards(order, 4, 2, 2));
        Assert.Equal((0, 0), EpochSharding.PartOf(0, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => EpochSharding.PartOf(4, 2, 2));
    }
}
