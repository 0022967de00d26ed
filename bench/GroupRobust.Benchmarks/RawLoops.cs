using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Benchmarks;

/// <summary>
/// The baseline the library's overhead is measured against: ERM and JM1 input mixing written by hand in raw TorchSharp,
/// as a TorchSharp user would write them without GroupRobust. Nothing from the library is used inside an epoch: the
/// order is a device randperm, batches are <c>index_select</c>s of the stored tensors, JM1's partners are drawn on the
/// device from flat per-(class, side) pools (no host round trip), alpha is one host draw per batch.
/// </summary>
internal sealed class RawLoops : IDisposable
{
    private readonly Tensor _inputs;
    private readonly Tensor _labels;
    private readonly Tensor _side;        // 1 for the minority side (the error set), 0 for the majority side
    private readonly Tensor _pool;        // sample indices sorted by (class, side)
    private readonly Tensor _poolStart;   // [2C] start of each (class, side) block in _pool
    private readonly Tensor _poolSize;    // [2C] its length, as float for the draw
    private readonly Device _device;
    private readonly long _count;
    private readonly Random _alpha;

    /// <param name="inputs">The stored training inputs [N, ...] (not disposed).</param>
    /// <param name="labels">Labels [N] on the same device.</param>
    /// <param name="minority">Host flags: true for the minority side of JM1's partition.</param>
    /// <param name="classes">The number of classes.</param>
    public RawLoops(Tensor inputs, Tensor labels, bool[] minority, int classes)
    {
        _device = inputs.device;
        _count = inputs.shape[0];
        _inputs = inputs.alias().DetachFromDisposeScope();
        _labels = labels.alias().DetachFromDisposeScope();
        var host = labels.cpu().data<long>().ToArray();
        var keys = Enumerable.Range(0, host.Length).Select(i => 2 * (int)host[i] + (minority[i] ? 1 : 0)).ToArray();
        var order = Enumerable.Range(0, host.Length).OrderBy(i => keys[i]).Select(i => (long)i).ToArray();
        var start = new long[2 * classes];
        var size = new float[2 * classes];
        foreach (var k in keys) size[k]++;
        for (int k = 1; k < start.Length; k++) start[k] = start[k - 1] + (long)size[k - 1];
        if (size.Any(s => s == 0)) throw new ArgumentException("Every (class, side) pool must be non-empty for the raw JM1 loop.");
        _side = torch.tensor(minority.Select(m => m ? 1L : 0L).ToArray(), device: _device).DetachFromDisposeScope();
        _pool = torch.tensor(order, device: _device).DetachFromDisposeScope();
        _poolStart = torch.tensor(start, device: _device).DetachFromDisposeScope();
        _poolSize = torch.tensor(size, device: _device).DetachFromDisposeScope();
        _alpha = new Random(3);
    }

    /// <summary>One ERM epoch: shuffled order, cross entropy, backward, step.</summary>
    public long Erm(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, int batchSize, long seed)
    {
        model.train();
        using var order = Order(seed);
        long steps = 0;
        for (long i = 0; i < _count; i += batchSize, steps++)
        {
            using var scope = NewDisposeScope();
            var idx = order.narrow(0, i, Math.Min(batchSize, _count - i));
            var x = _inputs.index_select(0, idx);
            var y = _labels.index_select(0, idx);
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            optimizer.step();
        }
        return steps;
    }

    /// <summary>
    /// One JM1 epoch at the input: each row's partner is drawn uniformly from the other side of its class, alpha ~ U(0, 1)
    /// per batch weights the majority-side sample, h = c x + (1 - c) x_partner, cross entropy with the batch's labels.
    /// </summary>
    public long Jm1Input(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, int batchSize, long seed)
    {
        model.train();
        using var order = Order(seed);
        using var generator = _device.type == DeviceType.CPU ? new torch.Generator((ulong)seed) : null;
        long steps = 0;
        for (long i = 0; i < _count; i += batchSize, steps++)
        {
            using var scope = NewDisposeScope();
            var idx = order.narrow(0, i, Math.Min(batchSize, _count - i));
            var x = _inputs.index_select(0, idx);
            var y = _labels.index_select(0, idx);
            var side = _side.index_select(0, idx);
            var other = y * 2 + (1L - side);
            var u = torch.rand([idx.shape[0]], generator: generator, device: _device);
            var position = _poolStart.index_select(0, other) + (u * _poolSize.index_select(0, other)).to(ScalarType.Int64);
            var partners = _inputs.index_select(0, _pool.index_select(0, position));
            double alpha = _alpha.NextDouble();
            // alpha weights the majority-side sample: a majority row keeps alpha of itself, a minority row 1 - alpha
            var c = torch.where(side.eq(0L), torch.tensor(alpha, device: _device), torch.tensor(1 - alpha, device: _device))
                .to(x.dtype).view([-1, .. Enumerable.Repeat(1L, (int)x.dim() - 1)]);
            var mixed = x * c + partners * (1 - c);
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(mixed), y).backward();
            optimizer.step();
        }
        return steps;
    }

    private Tensor Order(long seed)
    {
        using var generator = new torch.Generator((ulong)seed);
        var host = torch.randperm(_count, generator: generator).DetachFromDisposeScope();
        if (_device.type == DeviceType.CPU) return host;
        using (host) return host.to(_device).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _labels.Dispose();
        _side.Dispose();
        _pool.Dispose();
        _poolStart.Dispose();
        _poolSize.Dispose();
    }
}
