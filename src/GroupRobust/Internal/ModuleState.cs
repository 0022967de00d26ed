using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Internal;

/// <summary>Detached copies of a module's parameters and buffers (best weights in memory, rollback of a failed load).</summary>
internal static class ModuleState
{
    /// <summary>Clones of every state_dict entry, owned by the caller (outside any dispose scope).</summary>
    public static Dictionary<string, Tensor> Copy(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        // clone under no_grad copies without autograd history; a detach() would be one more handle to free
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
    }

    /// <summary>Disposes a copy made by <see cref="Copy"/>.</summary>
    public static void Free(Dictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var t in state.Values) t.Dispose();
    }
}
