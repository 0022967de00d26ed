using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Internal;

/// <summary>
/// Host-to-device copies of the small per-step tensors (batch indices, labels, group ids, mixing weights) without a
/// host synchronisation. A blocking copy from pageable memory makes LibTorch synchronise the CUDA stream, so the host
/// would wait for all queued GPU work once per upload, every step; on CUDA the values go through pinned memory and a
/// non-blocking copy instead (the caching host allocator keeps the pinned block alive until the copy has run). On the
/// CPU nothing is copied.
/// </summary>
internal static class HostUpload
{
    /// <summary>The values as an Int64 tensor on <paramref name="device"/>.</summary>
    public static Tensor Int64(long[] values, Device device)
    {
        if (device.type == DeviceType.CPU) return torch.tensor(values, ScalarType.Int64, CPU);
        using var host = torch.tensor(values, ScalarType.Int64, CPU);
        return ToDevice(host, device);
    }

    /// <summary>The values as a float32 tensor on <paramref name="device"/>.</summary>
    public static Tensor Float32(float[] values, Device device)
    {
        if (device.type == DeviceType.CPU) return torch.tensor(values, ScalarType.Float32, CPU);
        using var host = torch.tensor(values, ScalarType.Float32, CPU);
        return ToDevice(host, device);
    }

    /// <summary>The values as a <paramref name="dtype"/> tensor on <paramref name="device"/> (converted from float64 on the device, so rounding happens once).</summary>
    public static Tensor Float64(double[] values, Device device, ScalarType dtype)
    {
        if (device.type == DeviceType.CPU) return torch.tensor(values, ScalarType.Float64, CPU).to(dtype);
        using var host = torch.tensor(values, ScalarType.Float64, CPU);
        using var onDevice = ToDevice(host, device);
        return onDevice.to(dtype);
    }

    /// <summary>Copies a CPU tensor to <paramref name="device"/> without blocking the host on CUDA; the caller keeps ownership of <paramref name="host"/>.</summary>
    public static Tensor ToDevice(Tensor host, Device device)
    {
        if (device.type != DeviceType.CUDA || _pinningFailed) return host.to(device);
        Tensor pinned;
        try
        {
            pinned = host.pin_memory();
        }
        catch (System.Runtime.InteropServices.ExternalException)
        {
            // a backend that cannot pin host memory: blocking copies from here on (correct, one synchronisation each)
            _pinningFailed = true;
            return host.to(device);
        }
        using (pinned) return pinned.to(device, non_blocking: true);
    }

    private static volatile bool _pinningFailed;
}
