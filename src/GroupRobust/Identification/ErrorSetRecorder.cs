using GroupRobust.Data;
using GroupRobust.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Identification;

/// <summary>
/// Records, during the user's own phase-I training loop, which training samples the model gets wrong in every
/// epoch, exactly as the JTT reference collects its error set: from the training pass itself (train mode, shuffled,
/// each batch predicted before its own optimizer step). The epoch T can then be chosen after the run
/// (<c>Evaluation.IdentificationEpoch</c>, downstream) and the error sets of several epochs compared (<see cref="GroupAssignment.Overlap"/>).
/// </summary>
/// <remarks>
/// Each recorded epoch keeps two N-long bool tensors on the logits' device (wrong, seen); <c>Record</c> scatters
/// into them without synchronising with the device. <see cref="ErrorSetAt"/> copies one epoch to the host.
/// </remarks>
public sealed class ErrorSetRecorder : IDisposable
{
    private readonly IGroupDataset _dataset;
    private readonly ILogger _logger;
    private readonly SortedDictionary<int, (Tensor Wrong, Tensor Seen)> _epochs = [];
    private readonly ExclusiveUse _use = new("ErrorSetRecorder");

    /// <summary>Creates a recorder for <paramref name="dataset"/> (the training split the loop iterates).</summary>
    /// <param name="dataset">The training split; batch indices refer to it.</param>
    /// <param name="logger">Receives summaries and warnings (unrecorded samples); <see cref="NullLogger"/> by default.</param>
    public ErrorSetRecorder(IGroupDataset dataset, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        _dataset = dataset;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The epochs recorded so far, ascending.</summary>
    public IReadOnlyList<int> Epochs => _epochs.Keys.ToArray();

    /// <summary>Records the predictions of one training batch (call it before the optimizer step, with the logits of the same forward pass).</summary>
    /// <param name="epoch">The epoch being trained (numbered from 1; each gets its own record).</param>
    /// <param name="batch">The batch the logits belong to (its indices and labels are used).</param>
    /// <param name="logits">Logits [B, C]; gradients are not affected.</param>
    /// <exception cref="ArgumentException">Shapes do not match.</exception>
    public void Record(int epoch, Batch batch, Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Record(epoch, batch.Indices, batch.Labels, logits);
    }

    /// <summary>Records predictions for the samples at <paramref name="indices"/>.</summary>
    /// <param name="epoch">The epoch being trained, at least 1.</param>
    /// <param name="indices">Dataset indices of the rows.</param>
    /// <param name="labels">Labels [B].</param>
    /// <param name="logits">Logits [B, C].</param>
    public void Record(int epoch, long[] indices, Tensor labels, Tensor logits)
    {
        using var use = _use.Enter();
        ArgumentOutOfRangeException.ThrowIfLessThan(epoch, 1);
        ArgumentNullException.ThrowIfNull(indices);
        Guard.Dims(logits, 2, nameof(logits));
        Guard.Dims(labels, 1, nameof(labels));
        Guard.Integral(labels, nameof(labels));
        if (logits.shape[1] != _dataset.Scheme.NumClasses)
            throw new ArgumentException($"'logits' has {logits.shape[1]} columns but the dataset has {_dataset.Scheme.NumClasses} classes (shape {Guard.Shape(logits)}).", nameof(logits));
        Guard.Length(logits, indices.Length, nameof(logits), nameof(indices));
        Guard.Length(labels, indices.Length, nameof(labels), nameof(indices));
        Guard.SameDevice(logits, nameof(logits), labels, nameof(labels));
        foreach (var i in indices)
            if ((ulong)i >= (ulong)_dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is out of range; the dataset has {_dataset.Count} samples.");
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (!_epochs.TryGetValue(epoch, out var rec))
        {
            rec = (torch.zeros(_dataset.Count, ScalarType.Bool, logits.device).DetachFromDisposeScope(),
                   torch.zeros(_dataset.Count, ScalarType.Bool, logits.device).DetachFromDisposeScope());
            _epochs[epoch] = rec;
        }
        else
        {
            Guard.SameDevice(logits, nameof(logits), rec.Wrong.device, "the recorder's state for this epoch");
        }
        var index = HostUpload.Int64(indices, logits.device);
        rec.Wrong.scatter_(0, index, logits.detach().argmax(1).ne(labels.to(ScalarType.Int64)));
        rec.Seen.scatter_(0, index, torch.ones(indices.Length, ScalarType.Bool, logits.device));
    }

    /// <summary>The error set recorded in <paramref name="epoch"/>. Samples never recorded in that epoch count as correct and are reported (log warning and metadata).</summary>
    /// <exception cref="ArgumentException">The epoch was not recorded.</exception>
    public GroupAssignment ErrorSetAt(int epoch)
    {
        using var use = _use.Enter();
        if (!_epochs.TryGetValue(epoch, out var rec))
            throw new ArgumentException($"Epoch {epoch} was not recorded; recorded epochs: [{string.Join(", ", _epochs.Keys)}].", nameof(epoch));
        bool[] wrong, seen;
        using (var scope = NewDisposeScope())
        {
            wrong = rec.Wrong.cpu().data<bool>().ToArray();
            seen = rec.Seen.cpu().data<bool>().ToArray();
        }
        int missing = seen.Count(s => !s);
        if (missing > 0) Log.UnrecordedSamples(_logger, epoch, missing, seen.Length);
        var p = GroupAssignment.Identified(wrong, _dataset, "recorder", epoch, new Dictionary<string, string>
        {
            ["pass"] = "train",
            ["unrecorded"] = missing.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        return IdentificationReport.Report(p, _logger);
    }

    /// <summary>Frees the record of <paramref name="epoch"/> (no-op if absent).</summary>
    public void Forget(int epoch)
    {
        using var use = _use.Enter();
        if (_epochs.Remove(epoch, out var rec))
        {
            rec.Wrong.Dispose();
            rec.Seen.Dispose();
        }
    }

    /// <summary>Frees every record; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call of the recorder.</exception>
    public void Dispose() => _use.Dispose(() =>
    {
        foreach (var epoch in _epochs.Keys.ToArray()) Forget(epoch);
    });
}
