using GroupRobust.Data;
using GroupRobust.Groups;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Tests.TestSupport;

/// <summary>Small hand-made tensors and datasets for tests.</summary>
internal static class Tiny
{
    public static Tensor Longs(params long[] values) => torch.tensor(values);

    /// <summary>Logits whose arg-max is <paramref name="predicted"/> for each row.</summary>
    public static Tensor LogitsFor(int classes, params long[] predicted)
    {
        var data = new float[predicted.Length * classes];
        for (int i = 0; i < predicted.Length; i++) data[i * classes + predicted[i]] = 1f;
        return torch.tensor(data, [predicted.Length, classes]);
    }

    /// <summary>A dataset with labels/attributes as given and inputs[i] = [i, y, a] as floats.</summary>
    public static TensorGroupDataset Dataset(int[] labels, int[]? attributes, GroupScheme? scheme = null)
    {
        scheme ??= GroupScheme.Binary();
        int n = labels.Length;
        var x = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            x[i * 3] = i;
            x[i * 3 + 1] = labels[i];
            x[i * 3 + 2] = attributes?[i] ?? 0;
        }
        using var scope = NewDisposeScope();
        return new TensorGroupDataset(torch.tensor(x, [n, 3]), torch.tensor(labels.Select(v => (long)v).ToArray()), scheme,
            attributes is null ? null : torch.tensor(attributes.Select(v => (long)v).ToArray()));
    }

    /// <summary>
    /// Two classes alternating over <paramref name="n"/> samples (<see cref="Dataset"/>) and an error set holding every
    /// tenth sample of each class (i % 20 &lt; 2): the mixing tests' task.
    /// </summary>
    public static (TensorGroupDataset Data, GroupRobust.Identification.GroupAssignment ErrorSet) TwoClassesWithErrorSet(int n = 200)
    {
        var labels = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        var data = Dataset(labels, null);
        var errorSet = GroupRobust.Identification.GroupAssignment.FromErrorSet(Enumerable.Range(0, n).Select(i => i % 20 < 2).ToArray(), data, "test");
        return (data, errorSet);
    }

    /// <summary>
    /// A network Linear(inputs, 4) - ReLU - Linear(4, classes) named "lin1", "act", "fc", its parameters drawn from its own
    /// generator (not the global one that tests running in parallel reseed).
    /// </summary>
    public static nn.Module<Tensor, Tensor> Network(int inputs, int classes, ulong seed)
    {
        var model = nn.Sequential(("lin1", nn.Linear(inputs, 4)), ("act", nn.ReLU()), ("fc", nn.Linear(4, classes)));
        using var generator = new torch.Generator(seed);
        using var noGrad = torch.no_grad();
        foreach (var p in model.parameters())
        {
            using var init = torch.randn(p.shape, generator: generator).mul_(0.5);
            p.copy_(init);
        }
        return model;
    }
}
