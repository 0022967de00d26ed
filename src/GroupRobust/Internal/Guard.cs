using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Internal;

/// <summary>Argument checks shared by the library; every message names the argument, the expectation and the actual value.</summary>
internal static class Guard
{
    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    public static void NotNull(Tensor? t, string name)
    {
        if (t is null) throw new ArgumentNullException(name);
        if (t.IsInvalid) throw new ObjectDisposedException(name, $"Tensor '{name}' has already been disposed.");
    }

    public static void Dims(Tensor t, int dims, string name)
    {
        NotNull(t, name);
        if (t.dim() != dims)
            throw new ArgumentException($"'{name}' must be {dims}-D, got shape {Shape(t)}.", name);
    }

    public static void MinDims(Tensor t, int dims, string name)
    {
        NotNull(t, name);
        if (t.dim() < dims)
            throw new ArgumentException($"'{name}' must have at least {dims} dimension(s), got shape {Shape(t)}.", name);
    }

    public static void Length(Tensor t, long length, string name, string otherName)
    {
        if (t.shape[0] != length)
            throw new ArgumentException($"'{name}' has {t.shape[0]} rows but '{otherName}' has {length}; they must match (shape {Shape(t)}).", name);
    }

    public static bool IsIntegral(ScalarType dtype) => dtype is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    public static bool IsFloating(ScalarType dtype) => dtype is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;

    public static void Integral(Tensor t, string name)
    {
        if (!IsIntegral(t.dtype))
            throw new ArgumentException($"'{name}' must have an integer dtype (Int64 preferred), got {t.dtype}.", name);
    }

    public static void Floating(Tensor t, string name)
    {
        if (!IsFloating(t.dtype))
            throw new ArgumentException($"'{name}' must have a floating-point dtype, got {t.dtype}.", name);
    }

    public static void SameDevice(Tensor a, string nameA, Tensor b, string nameB)
    {
        if (a.device_type != b.device_type || a.device_index != b.device_index)
            throw new ArgumentException($"'{nameB}' is on {b.device} but '{nameA}' is on {a.device}; they must be on the same device.", nameB);
    }

    public static void SameDevice(Tensor t, string name, Device expected, string what)
    {
        if (t.device_type != expected.type || (expected.index >= 0 && t.device_index != expected.index))
            throw new ArgumentException($"'{name}' is on {t.device} but {what} is on {expected}; move it with .to(...) first.", name);
    }

    /// <summary>
    /// Checks that every value of an integer tensor lies in [0, upper). Runs eagerly for CPU tensors, where the
    /// check costs no device synchronisation; on accelerators it is skipped (the indexing kernels assert instead),
    /// so the hot path never waits for the device.
    /// </summary>
    public static void IndexRange(Tensor t, long upper, string name, string what)
    {
        if (t.device_type != DeviceType.CPU || t.numel() == 0) return;
        using var scope = NewDisposeScope();
        long min = t.min().ToInt64();
        long max = t.max().ToInt64();
        if (min < 0)
            throw new ArgumentOutOfRangeException(name, min, $"'{name}' contains {what} {min}; expected values in [0, {upper - 1}].");
        if (max >= upper)
            throw new ArgumentOutOfRangeException(name, max, $"'{name}' contains {what} {max}; expected values in [0, {upper - 1}].");
    }

    /// <summary>
    /// A classifier's output over a batch of a <paramref name="classes"/>-class dataset: logits [B, C], finite (checked
    /// on the CPU, as <see cref="Finite"/>). The message names the shape the model gave.
    /// </summary>
    /// <exception cref="ArgumentException">Another shape, or a non-finite value.</exception>
    public static void ModelLogits(Tensor logits, int classes, string name)
    {
        if (logits.dim() != 2 || logits.shape[1] != classes)
            throw new ArgumentException($"The model must output logits [B, {classes}] for a {classes}-class dataset, got shape {Shape(logits)}.", name);
        Finite(logits, "logits");
    }

    /// <summary>
    /// Host group ids against their labels: every id in [0, <paramref name="numGroups"/>) and in its label's class
    /// (g = y * <paramref name="numAttributes"/> + a). One loop over the arrays, no device access.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A group id is out of range, naming the sample and the id.</exception>
    /// <exception cref="ArgumentException">A group id of another class than its sample's label.</exception>
    public static void GroupsMatchLabels(ReadOnlySpan<int> labels, ReadOnlySpan<int> groups, int numGroups, int numAttributes, string name)
    {
        for (int i = 0; i < groups.Length; i++)
        {
            if ((uint)groups[i] >= (uint)numGroups)
                throw new ArgumentOutOfRangeException(name, groups[i], $"Group of sample {i} is {groups[i]}; expected [0, {numGroups - 1}].");
            if (groups[i] / numAttributes != labels[i])
                throw new ArgumentException($"Sample {i} has label {labels[i]} but group {groups[i]} belongs to class {groups[i] / numAttributes}.", name);
        }
    }

    /// <summary>Mixing weights: floating, and (checked eagerly on the CPU, where it is free) finite and in [0, 1].</summary>
    public static void UnitInterval(Tensor t, string name)
    {
        Floating(t, name);
        if (t.device_type != DeviceType.CPU || t.numel() == 0) return;
        using var scope = NewDisposeScope();
        var bad = t.isfinite().logical_not().logical_or(t.lt(0)).logical_or(t.gt(1));
        if (bad.any().ToBoolean())
        {
            long i = bad.nonzero()[0, 0].ToInt64();
            throw new ArgumentOutOfRangeException(name, t[i].to(ScalarType.Float64).ToDouble(), $"'{name}' must hold finite weights in [0, 1]; row {i} is out of range.");
        }
    }

    /// <summary>Checks that a floating tensor holds no NaN or infinity. Eager on CPU only, for the same reason as <see cref="IndexRange"/>.</summary>
    public static void Finite(Tensor t, string name)
    {
        if (t.device_type != DeviceType.CPU) return;
        FiniteOnAnyDevice(t, name);
    }

    /// <summary>As <see cref="Finite"/> on every device (one device read): for doors outside the training step (last-layer fits, once per call).</summary>
    public static void FiniteOnAnyDevice(Tensor t, string name)
    {
        if (t.numel() == 0) return;
        using var scope = NewDisposeScope();
        if (!t.isfinite().all().ToBoolean())
        {
            long bad = t.isfinite().logical_not().nonzero()[0, 0].ToInt64();
            throw new ArgumentException($"'{name}' contains a non-finite value (NaN or infinity), first at flat row {bad} (shape {Shape(t)}).", name);
        }
    }
}
