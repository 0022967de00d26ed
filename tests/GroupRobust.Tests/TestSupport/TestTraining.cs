using GroupRobust.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.TestSupport;

/// <summary>A minimal ERM loop for tests.</summary>
internal static class TestTraining
{
    public static void Erm(nn.Module<Tensor, Tensor> model, IGroupDataset data, int epochs, double lr = 0.1, int batchSize = 64, int seed = 0,
        Action<int, Batch, Tensor>? onBatch = null)
    {
        using var opt = torch.optim.SGD(model.parameters(), lr, momentum: 0.9);
        var rng = new Random(seed);
        model.train();
        for (int e = 0; e < epochs; e++)
        {
            foreach (var b in data.Batches(batchSize, rng))
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                var logits = model.call(b.Inputs);
                onBatch?.Invoke(e + 1, b, logits);   // epochs are numbered from 1
                nn.functional.cross_entropy(logits, b.Labels).backward();
                opt.step();
            }
        }
    }

    public static nn.Module<Tensor, Tensor> Linear(int inputs, int classes, int seed = 0)
    {
        torch.random.manual_seed(seed);
        return nn.Linear(inputs, classes);
    }
}
