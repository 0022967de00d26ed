using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Mixing;

/// <summary>The library's one interpolation: h_mix = c x + (1 - c) p, every mixer and the mixed forward pass use it.</summary>
internal static class Interpolation
{
    /// <summary>c x + (1 - c) p with c [B] broadcast over the trailing dimensions (one fused <c>lerp</c>, in x's dtype).</summary>
    /// <param name="x">Tensor [B, ...], floating.</param>
    /// <param name="p">Tensor of the same shape, device and dtype.</param>
    /// <param name="c">Weights [B] on x, same device, in [0, 1]: built by a mixer, or checked by the public entry point that took them (<c>MixedForwardPass.Run</c>).</param>
    /// <exception cref="ArgumentException">x is not floating point (token ids mixed at the input).</exception>
    public static Tensor Lerp(Tensor x, Tensor p, Tensor c)
    {
        // internal: the public entry points (MixedForwardPass.Run, the mixers' Mix, the methods) checked the shapes and devices
        RequireFloating(x);
        using var scope = NewDisposeScope();
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        var w = c.to(x.dtype).reshape(shape);
        return torch.lerp(p, x, w).MoveToOuterDisposeScope();
    }

    /// <summary>c x + (1 - c) p with one scalar weight c for every row.</summary>
    /// <exception cref="ArgumentException">x is not floating point (token ids mixed at the input).</exception>
    public static Tensor Lerp(Tensor x, Tensor p, double c)
    {
        RequireFloating(x);
        // the weight is filled on the device (torch.tensor(c, device) would copy it from the host, a blocking upload)
        using var scope = NewDisposeScope();
        using var value = c.ToScalar();
        using var w = torch.full(Array.Empty<long>(), value, x.dtype, x.device);
        return torch.lerp(p, x, w).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The last line of defence of every mix (a metadata read, no device sync): integer values cannot be interpolated. The
    /// public doors check first, with advice for their case (<c>MixedForwardPass.Run</c>, the mixing methods' batch check).
    /// </summary>
    private static void RequireFloating(Tensor x)
    {
        if (!x.is_floating_point())
            throw new ArgumentException(
                $"Mixing interpolates between samples, so it needs floating-point values, but the tensor to mix has dtype {x.dtype}: integer values such as token ids cannot be interpolated.",
                "inputs");
    }
}
