using GroupRobust.Distributed;
using GroupRobust.Tests.Methods;
using GroupRobust.Data;
using GroupRobust.Methods;
using GroupRobust.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.Distributed;

/// <summary>
/// The methods on parts of a global batch (<see cref="BatchShard"/>), in one process: the parts' row-weighted gradients
/// add up to the global batch's, so P parts per step train what one whole batch per step trains. This is the
/// mechanism data-parallel training uses on every rank (tests/GroupRobust.Tests/Distributed runs it under mpirun).
/// </summary>
public class ShardedBatchTests
{
    public static TheoryData<string> Shardable() => new() { "erm", "erm-balanced@inferred", "jtt", "jm1", "jm1:hidden", "jm1:random", "jm1:inbatch", "jm1:paired", "jm1-plus", "cmixup", "jm1-unconditional" };

    /// <summary>Part p of a global batch of <paramref name="count"/> rows split in <paramref name="parts"/> (contiguous, as EpochSharding does).</summary>
    private static (int Start, int Length) Part(int count, int p, int parts)
    {
        int b = count / parts, extra = count % parts;
        return (p * b + Math.Min(p, extra), b + (p < extra ? 1 : 0));
    }

    [Theory]
    [MemberData(nameof(Shardable))]
    public void Parts_of_each_global_batch_train_what_the_whole_batch_trains(string kind)
    {
        using var data = MethodFactory.Data();
        const int globalBatch = 32, parts = 8, epochs = 2;
        using var whole = MethodFactory.Make(kind, data, new SeedSource(11));
        // one method per part, as one per process in a job: each takes its part of every global batch
        var split = Enumerable.Range(0, parts).Select(_ => MethodFactory.Make(kind, data, new SeedSource(11))).ToArray();
        using var a = MethodFactory.Model(3);
        using var b = MethodFactory.Model(3);
        using var optA = torch.optim.SGD(a.parameters(), 0.1);
        using var optB = torch.optim.SGD(b.parameters(), 0.1);
        int emptyParts = 0;
        MethodEpochSummary? lastA = null;
        var lastB = new MethodEpochSummary?[parts];
        try
        {
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                var order = whole.BeginEpoch(epoch + 1, epochs);
                foreach (var m in split) Assert.Equal(order, m.BeginEpoch(epoch + 1, epochs));
                // the epoch ends with a global batch of at most 5 rows, fewer than the parts: some parts are empty
                var chunks = order.Chunk(globalBatch).ToList();
                var last = chunks[^1];
                if (last.Length > 5)
                {
                    chunks.RemoveAt(chunks.Count - 1);
                    chunks.Add(last[..^5]);
                    chunks.Add(last[^5..]);
                }
                var batches = chunks;
                foreach (var globalRows in batches)
                {
                    using var scope = NewDisposeScope();
                    optA.zero_grad();
                    using (var batch = data.Train.GetBatch(globalRows)) whole.Loss(a, batch).backward();
                    optA.step();

                    optB.zero_grad();
                    for (int p = 0; p < parts; p++)
                    {
                        var (start, length) = Part(globalRows.Length, p, parts);
                        var shard = new BatchShard(globalRows, start, length);
                        using var part = data.Train.GetBatch(shard);
                        Assert.Equal(length, part.Size);
                        emptyParts += length == 0 ? 1 : 0;
                        // the part's mean loss weighted by its share of the rows: the gradients add up to the global mean's
                        (split[p].PartLoss(b, part, shard) * ((double)length / globalRows.Length)).backward();
                    }
                    optB.step();
                }
                lastA = whole.EndEpoch();
                for (int p = 0; p < parts; p++) lastB[p] = split[p].EndEpoch();
            }
            Assert.True(emptyParts > 0);
            double diff = a.parameters().Zip(b.parameters(), (x, y) => (x - y).abs().max().ToDouble()).Max();
            Assert.True(diff < 1e-5, $"{kind}: {parts} parts per step differ from whole batches by {diff:E2} after {epochs} epochs");
            // every part drew what the whole run drew: the generators and the mixing statistics (of the global batches)
            string Generators(ITrainingMethod m) => string.Join(";", m.GetState().Generators.Select(kv => kv.Key + ":" + string.Join(",", kv.Value)));
            for (int p = 0; p < parts; p++)
            {
                Assert.Equal(Generators(whole), Generators(split[p]));
                Assert.Equal(lastA!.Mixing?.ToString(), lastB[p]!.Mixing?.ToString());
            }
        }
        finally
        {
            foreach (var m in split) m.Dispose();
        }
    }

    [Theory]
    [InlineData("mixup")]
    [InlineData("cvar-dro")]
    [InlineData("lff")]
    [InlineData("lisa")]
    [InlineData("groupjm1")]
    public void Methods_whose_loss_does_not_split_refuse_parts_and_say_which_do(string kind)
    {
        using var data = MethodFactory.Data();
        using var method = MethodFactory.Make(kind, data, new SeedSource(1));
        using var model = MethodFactory.ModelFor(kind, 2);
        var order = method.BeginEpoch(1, 1);
        var shard = new BatchShard(order.AsSpan(0, 8), 0, 4);
        using var part = data.Train.GetBatch(shard);
        var ex = Assert.Throws<NotSupportedException>(() => method.PartLoss(model, part, shard));
        Assert.Contains("parts of a global batch", ex.Message);
        Assert.Contains("ERM, JTT, GroupDRO and the mixing methods", ex.Message);
    }

    [Fact]
    public void GroupDro_on_parts_needs_its_statistics_reduced_over_the_job()
    {
        using var data = MethodFactory.Data();
        using var method = MethodFactory.Make("groupdro", data, new SeedSource(1));
        using var model = MethodFactory.Model(2);
        var order = method.BeginEpoch(1, 1);
        var shard = new BatchShard(order.AsSpan(0, 8), 4, 4);
        using var part = data.Train.GetBatch(shard);
        var ex = Assert.Throws<InvalidOperationException>(() => method.PartLoss(model, part, shard));
        Assert.Contains("DistributedGroupDro.Attach", ex.Message);
    }

    [Fact]
    public void A_part_is_checked_and_an_empty_part_has_the_datasets_row_shape()
    {
        using var data = MethodFactory.Data();
        long[] rows = [5, 7, 9];
        Assert.Throws<ArgumentException>(() => new BatchShard([], 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchShard(rows, 4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchShard(rows, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Train.GetBatch(new BatchShard([1, 100_000], 0, 1)));
        var nothing = new BatchShard(rows, 3, 0);
        using var empty = data.Train.GetBatch(nothing);
        Assert.Equal(0, empty.Size);
        Assert.Equal(new long[] { 0, 2 }, empty.Inputs.shape);
        Assert.Equal(ScalarType.Int64, empty.Labels.dtype);
        using var part = data.Train.GetBatch(new BatchShard(rows, 1, 2));
        Assert.Equal(new long[] { 7, 9 }, part.Indices);
        // an ordinary empty batch is refused: only a part may be empty; a part must hold its shard's rows
        using var method = new ErmMethod(data.Train, new SeedSource(0));
        using var model = MethodFactory.Model(1);
        method.BeginEpoch(1, 1);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => method.Loss(model, empty)).Message);
        Assert.Contains("not those of", Assert.Throws<ArgumentException>(() => method.PartLoss(model, part, nothing)).Message);
        using var loss = method.PartLoss(model, empty, nothing);
        Assert.Equal(0, loss.ToSingle());
        loss.backward();   // reaches no parameter
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.abs().max().ToDouble() == 0));
    }

    /// <summary>A training split that records the epochs it is told (the hook train-time augmentation draws from).</summary>
    private sealed class EpochRecorder(IGroupDataset inner) : IGroupDataset, IEpochAware
    {
        public List<int> Epochs { get; } = [];
        public void SetEpoch(int epoch) => Epochs.Add(epoch);
        public int Count => inner.Count;
        public GroupRobust.Groups.GroupScheme Scheme => inner.Scheme;
        public ReadOnlyMemory<int> Labels => inner.Labels;
        public bool HasGroups => inner.HasGroups;
        public ReadOnlyMemory<int> Groups => inner.Groups;
        public Device Device => inner.Device;
        public Batch GetBatch(ReadOnlySpan<long> indices) => inner.GetBatch(indices);
        public void Dispose() { }
    }

    [Fact]
    public void TrainEpoch_in_a_job_of_one_trains_what_the_plain_loop_trains_and_refuses_bad_sizes_before_the_epoch_begins()
    {
        using var data = MethodFactory.Data();
        var train = new EpochRecorder(data.Train);
        using var job = new LoopbackCollective(1);
        using var a = MethodFactory.Model(3);
        using var b = MethodFactory.Model(3);
        using var optA = torch.optim.SGD(a.parameters(), 0.1);
        using var optB = torch.optim.SGD(b.parameters(), 0.1);
        using var plain = MethodFactory.Make("jm1", data, new SeedSource(5));
        using var parallel = MethodFactory.Make("jm1", data, new SeedSource(5));
        Assert.Equal("globalBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => DataParallel.TrainEpoch(parallel, b, optB, train, 1, 2, 0, job)).ParamName);
        Assert.Equal("maxGradientNorm", Assert.Throws<ArgumentOutOfRangeException>(() => DataParallel.TrainEpoch(parallel, b, optB, train, 1, 2, 32, job, maxGradientNorm: 0)).ParamName);
        using (var mixup = MethodFactory.Make("mixup", data, new SeedSource(5)))
        {
            Assert.Throws<NotSupportedException>(() => DataParallel.TrainEpoch(mixup, b, optB, train, 1, 2, 32, job));
            mixup.BeginEpoch(1, 2);   // the refusal began no epoch
        }
        using (var dro = MethodFactory.Make("groupdro", data, new SeedSource(5)))
            Assert.Contains("Attach", Assert.Throws<InvalidOperationException>(() => DataParallel.TrainEpoch(dro, b, optB, train, 1, 2, 32, job)).Message);
        Assert.Empty(train.Epochs);
        var expected = MethodFactory.Train(plain, a, optA, data.Train, 0, 2, 2)!;
        MethodEpochSummary? actual = null;
        for (int epoch = 1; epoch <= 2; epoch++) actual = DataParallel.TrainEpoch(parallel, b, optB, train, epoch, 2, 32, job);
        Assert.Equal([1, 2], train.Epochs);
        Assert.Equal(expected.Samples, actual!.Samples);
        Assert.Equal(expected.Mixing!.Mixed, actual.Mixing!.Mixed);
        foreach (var ((name, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(p.allclose(q, 1e-5, 1e-6), $"parameter {name} differs");
    }
}
